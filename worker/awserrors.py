"""What an AWS error means, read from its error code (never from free message text alone).

CloudFormation is the one service that says "no such stack" only as ``ValidationError`` with a
message ("Stack with id X does not exist"); :func:`is_stack_missing` is the single place that
knows it.
"""

from __future__ import annotations

#: Error codes of "the thing you named is not there", across the services the project calls.
NOT_FOUND_CODES = frozenset(
    {
        "404",
        "NotFound",
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchEntity",
        "ResourceNotFoundException",
    }
)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code") or "")


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return str(exc)
    return str((response.get("Error") or {}).get("Message") or exc)


def is_not_found(exc: BaseException, *extra_codes: str) -> bool:
    """True for a "no such resource" error code (plus ``extra_codes`` of one service)."""
    code = error_code(exc)
    return code in NOT_FOUND_CODES or code in extra_codes


def is_stack_missing(exc: BaseException) -> bool:
    """CloudFormation's "no such stack": ``ValidationError`` whose message says it."""
    return error_code(exc) == "ValidationError" and "does not exist" in error_message(exc)


def is_no_changes(exc_or_reason: BaseException | str) -> bool:
    """CloudFormation's "nothing to update" (an error on UpdateStack, a change set's reason)."""
    text = exc_or_reason if isinstance(exc_or_reason, str) else error_message(exc_or_reason)
    return "didn't contain changes" in text or "No updates are to be performed" in text
