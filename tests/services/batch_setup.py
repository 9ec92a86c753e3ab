"""Moved to :mod:`scheduler.sandbox.batch_resources` (the sandbox is a product feature)."""

from scheduler.sandbox.batch_resources import BatchSetup, create_batch_resources

__all__ = ["BatchSetup", "create_batch_resources"]
