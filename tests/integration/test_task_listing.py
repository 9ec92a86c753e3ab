"""Listing the tasks stays cheap (issue 13, ``bench/startup.py``): ``invoke --list`` loads only
the task modules and the few words they declare options with, and builds no parser of the
tasks' options; naming a task still gets its full help."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.cli import REPO
from worker.job import FIELDS
from worker.jobfields import FIELD_HELP

#: What the task modules may import at start: the exit codes, the error mapping, the words.
ALLOWED = {"worker", "worker.contract", "worker.errors", "worker.jobfields", "scheduler"}
PROBE = """
import json, sys
from invoke import Collection
import invoke.main
built = []
to_contexts = Collection.to_contexts
def counting(self, *args, **kwargs):
    built.append(1)
    return to_contexts(self, *args, **kwargs)
Collection.to_contexts = counting
try:
    invoke.main.program.run(["invoke", *sys.argv[1:]], exit=False)
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("worker", "scheduler"))
print(json.dumps({"parsers": len(built), "loaded": loaded}), file=sys.stderr)
"""


def probe(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stderr.strip().splitlines()[-1]))


def test_list_imports_no_package_module_and_builds_no_task_parser() -> None:
    seen = probe("--list")
    loaded = {m for m in seen["loaded"] if not m.startswith("scheduler.tasks")}
    assert loaded <= ALLOWED, loaded - ALLOWED
    assert seen["parsers"] == 0


def test_help_of_a_task_still_builds_its_options() -> None:
    assert probe("--help", "run-worker")["parsers"] == 1
    assert probe("run-worker", "--help")["parsers"] >= 1


def test_completion_still_offers_a_tasks_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "--complete", "--", "invoke", "build-worker", "--"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert {"--push", "--tag-suffix", "--repository"} <= set(done.stdout.split()), done


def test_the_field_words_are_the_models_fields() -> None:
    assert list(FIELD_HELP) == [f.name for f in FIELDS]
