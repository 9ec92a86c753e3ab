"""``python -m worker``: the worker's command line (the image's entry point).

python -m worker run --job-parameters s3://bucket/runs/<run>/array-0/job-parameters.json
python -m worker check JOBFILE [--warmup-count 5 ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from worker.contract import Env, ExitCode
from worker.errors import exit_status
from worker.jobfile import add_job_options, load_job, overrides_from_namespace
from worker.params import array_index_of
from worker.pipeline import WorkerOptions, run_job

DEFAULT_WORKSPACE = "/work/run"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one scheduled job")
    run.add_argument("--job-parameters", required=True, help="URI of job-parameters.json")
    run.add_argument(
        "--workspace",
        "--workspace-dir",
        dest="workspace",
        default=os.environ.get(Env.WORKSPACE, DEFAULT_WORKSPACE),
        help=f"work dir (default ${Env.WORKSPACE} or {DEFAULT_WORKSPACE}); --workspace-dir is "
        "the original's name",
    )
    run.add_argument(
        "--job-id",
        default=os.environ.get(Env.BATCH_JOB_ID),
        help=f"job id (default ${Env.BATCH_JOB_ID}, else a new one)",
    )
    run.add_argument(
        "--attempt",
        type=int,
        default=int(os.environ.get(Env.BATCH_JOB_ATTEMPT, "1") or 1),
        help=f"attempt number (default ${Env.BATCH_JOB_ATTEMPT} or 1)",
    )
    run.add_argument(
        "--array-index",
        type=int,
        default=array_index_of(os.environ),
        help=f"this job's index in its array job (default ${Env.BATCH_JOB_ARRAY_INDEX}, else the "
        f"<parent>:<index> suffix of ${Env.BATCH_JOB_ID})",
    )
    check = sub.add_parser("check", help="validate a job file and options; print the job")
    check.add_argument("job_file", nargs="?", type=Path, help="job file (.toml/.yaml)")
    add_job_options(check)
    return parser


def glue_values(argv: Sequence[str], value_options: Iterable[str]) -> list[str]:
    """``--jvm-args -Xmx4g`` as ``--jvm-args=-Xmx4g``: argparse reads a value that starts
    with ``-`` as an option; the original's command lines pass JVM and JMH flags this way."""
    takes_value = set(value_options)
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in takes_value and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _value_options(parser: argparse.ArgumentParser) -> list[str]:
    names: list[str] = []
    for action in parser._actions:  # argparse offers no public walk over subcommands
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names += _value_options(sub)
        elif action.nargs != 0:
            names += [o for o in action.option_strings if o.startswith("--")]
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(
        glue_values(sys.argv[1:] if argv is None else argv, _value_options(parser))
    )
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "check":
            job = load_job(args.job_file, overrides_from_namespace(args))
            import json

            print(json.dumps(job.to_dict(), indent=2, sort_keys=True))
            return ExitCode.OK
        report = run_job(
            WorkerOptions(
                parameters_uri=args.job_parameters,
                workspace=Path(args.workspace),
                job_id=args.job_id or f"local-{uuid.uuid4()}",
                attempt=args.attempt,
                array_index=args.array_index,
            )
        )
    except (Exception, KeyboardInterrupt) as exc:
        status = exit_status(exc)
        if status is None:
            raise  # a bug of ours: exit 1 with its traceback
        for line in status[1].splitlines():
            print(f"error: {line}", file=sys.stderr)
        return status[0]
    for message in report.messages:
        print(f"error: {message}", file=sys.stderr)
    return int(report.exit_code)
