"""Moved to :mod:`scheduler.sandbox.processes` (the sandbox is a product feature)."""

from scheduler.sandbox.processes import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
