"""The sandbox: a local AWS (moto server whose Batch runs the worker image) and a registry."""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context

from scheduler.tasks.common import err, errors, repo_root, setting, task


def _sandbox_dir(c: Context) -> Path:
    return Path(setting(c, "sandbox_dir") or repo_root(c) / ".work" / "sandbox")


@task(
    help={
        "image": "worker image the sandbox's Batch job definition runs (default: build one)",
    }
)
def sandbox_up(c: Context, image: str | None = None) -> None:
    """Start a local AWS (moto server, Batch running the worker image) and a registry."""
    from scheduler.sandbox.lifecycle import start_sandbox

    with errors():
        state = start_sandbox(_sandbox_dir(c), image=image, on_line=err)
        err('sandbox is up; export these variables (eval "$(invoke sandbox-up)" works too):')
        for key, value in state.env.items():
            print(f"export {key}={value}")


@task()
def sandbox_down(c: Context) -> None:
    """Stop the sandbox's moto server and registry and remove its job containers."""
    from scheduler.sandbox.lifecycle import stop_sandbox

    with errors():
        for line in stop_sandbox(_sandbox_dir(c)):
            err(line)
