"""AWS tag values made acceptable to every service the project tags.

AWS allows letters, digits, white space and ``+ - = . _ : / @`` in tag values, at most 256
characters (Batch, EC2, CloudFormation alike). Some values come from free text (a CI build
name such as ``#4711 (rc)``); a value AWS refuses fails the whole SubmitJob, so every value is
passed through :func:`sanitise_tag_value` first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_TAG_VALUE = 256
_NOT_ALLOWED = re.compile(r"[^\w\s+\-=.:/@]", re.UNICODE)
#: The rule as AWS documents it (used by tests to check the sanitiser).
ALLOWED_VALUE = re.compile(r"^[\w\s+\-=.:/@]{0,256}$", re.UNICODE)


def sanitise_tag_value(value: str) -> str:
    """Characters AWS refuses become ``_``; whitespace other than a space becomes a space;
    cut at 256 characters."""
    cleaned = _NOT_ALLOWED.sub("_", value)
    cleaned = re.sub(r"\s", " ", cleaned)
    return cleaned[:MAX_TAG_VALUE]


def sanitise_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Every value sanitised; empty values left out (they say nothing)."""
    cleaned = {key: sanitise_tag_value(value) for key, value in tags.items()}
    return {key: value for key, value in cleaned.items() if value}
