"""Moved to :mod:`scheduler.sandbox.moto_server` (the sandbox is a product feature)."""

from scheduler.sandbox.moto_server import CREDENTIALS, MotoServer, run_moto_server

__all__ = ["CREDENTIALS", "MotoServer", "run_moto_server"]
