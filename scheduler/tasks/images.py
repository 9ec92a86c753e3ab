"""Images: the worker image and the image CI runs the tasks in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from invoke.context import Context

from scheduler.tasks.common import docker_client, errors, repo_root, setting, task


@task(
    help={
        "push": "push the image after building it",
        "tag-suffix": "appended to the tag: <repo>:openjdk_17_<suffix> (e.g. your env name)",
        "jdk": "JDK of the image as <vendor>_<major> (default openjdk_17)",
        "repository": "image repository; default bench.repository or the stack's ECR repository",
        "env": "environment whose stack (benchmarking-<env>) provides the ECR repository",
        "build-arg": "extra Docker build argument NAME=VALUE (repeatable)",
    },
    iterable=["build_arg"],
)
def build_worker(
    c: Context,
    push: bool = False,
    tag_suffix: str | None = None,
    jdk: str | None = None,
    repository: str | None = None,
    env: str | None = None,
    build_arg: list[str] | None = None,
) -> None:
    """Build the worker image (and push it with --push); prints the reference and digest."""
    from scheduler import images

    with errors(), _push_progress() as (on_line, on_layer):
        result = images.build_and_push_worker(
            docker_client,
            repo_root(c),
            jdk=jdk or setting(c, "jdk"),
            tag_suffix=tag_suffix,
            repository=repository or setting(c, "repository"),
            env=env or setting(c, "env"),
            build_args=build_arg or [],
            push=push,
            on_line=on_line,
            on_layer=on_layer,
        )
    print(result)


@task(
    help={
        "tag": "image reference (default benchmark-infra-build:latest)",
        "push": "push the image after building it (registry credentials: "
        "BENCH_REGISTRY_USER / BENCH_REGISTRY_PASSWORD)",
    }
)
def build_ci_image(c: Context, tag: str | None = None, push: bool = False) -> None:
    """Build the image CI runs the tasks in (Dockerfile.build); prints its reference."""
    from scheduler import images

    with errors(), _push_progress() as (on_line, on_layer):
        result = images.build_ci_image(
            docker_client, repo_root(c), tag=tag, push=push, on_line=on_line, on_layer=on_layer
        )
    print(result)


@contextmanager
def _push_progress() -> Iterator[tuple[Callable[[str], None], Any]]:
    """Build output as lines and ``docker push`` as one bar per layer while its bytes go
    (plain lines off a terminal): ``(on_line, on_layer)`` for the image functions."""
    from scheduler.progress import LayerProgress, ProgressBoard

    with ProgressBoard() as board:
        layers = LayerProgress(board)
        try:
            yield board.write, layers
        finally:
            layers.close()
