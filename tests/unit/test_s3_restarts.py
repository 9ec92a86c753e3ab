"""A whole S3 transfer is restarted after botocore's own retries gave up on a broken
connection (botocore >= 1.44 backs off from 50 ms for those: a blip of seconds outlasts them)."""

from __future__ import annotations

import pytest

from worker.errors import ConfigError, TransientError
from worker.storage.s3 import TRANSFER_RESTART_DELAYS, _restarting


def test_a_broken_transfer_is_started_again_after_a_pause() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def transfer() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("connection closed")

    _restarting("upload x", transfer, sleep=sleeps.append)
    assert len(calls) == 3 and sleeps == list(TRANSFER_RESTART_DELAYS)


def test_a_lasting_failure_gives_up_and_other_errors_are_not_restarted() -> None:
    sleeps: list[float] = []

    def broken() -> None:
        raise TransientError("connection closed")

    with pytest.raises(TransientError):
        _restarting("upload x", broken, sleep=sleeps.append)
    assert len(sleeps) == len(TRANSFER_RESTART_DELAYS)

    def refused() -> None:
        raise ConfigError("access denied")

    sleeps.clear()
    with pytest.raises(ConfigError):
        _restarting("upload x", refused, sleep=sleeps.append)
    assert sleeps == []
