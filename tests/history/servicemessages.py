"""TeamCity service messages read back as TeamCity reads them (the tests' parser)."""

from __future__ import annotations

import re

_VALUE = r"'(?:[^'|]|\|.)*'"
#: ``##teamcity[name key='value' ...]`` or the single-value form ``##teamcity[name 'value']``.
_MESSAGE = re.compile(rf"^##teamcity\[(\w+)((?: \w+={_VALUE})*| {_VALUE})\]$")
_PROPERTY = re.compile(r"(\w+)='((?:[^'|]|\|.)*)'")
_UNESCAPE = {"|'": "'", "||": "|", "|[": "[", "|]": "]", "|n": "\n", "|r": "\r"}


def parse(output: str) -> list[tuple[str, dict[str, str]]]:
    """Each line as TeamCity reads it: (message name, unescaped properties)."""
    out = []
    for line in output.splitlines():
        match = _MESSAGE.match(line)
        assert match, f"not a service message: {line!r}"
        body = match.group(2)
        pairs = _PROPERTY.findall(body) if "=" in body.split("'")[0] else [("", body[2:-1])]
        props = {k: re.sub(r"\|.", lambda m: _UNESCAPE[m.group(0)], v) for k, v in pairs}
        out.append((match.group(1), props))
    return out
