"""``python -m worker``: the worker's command line (the image's entry point).

python -m worker run --job-parameters s3://bucket/runs/<run>/<id>/job-parameters.json
python -m worker check JOBFILE [--warmup-count 5 ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from worker.contract import Env, ExitCode
from worker.errors import BenchInfraError
from worker.jobfile import add_job_options, load_job, overrides_from_namespace
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
        default=os.environ.get(Env.WORKSPACE, DEFAULT_WORKSPACE),
        help=f"work dir (default ${Env.WORKSPACE} or {DEFAULT_WORKSPACE})",
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
    check = sub.add_parser("check", help="validate a job file and options; print the job")
    check.add_argument("job_file", nargs="?", type=Path, help="job file (.toml/.yaml)")
    add_job_options(check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
            )
        )
    except BenchInfraError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return int(exc.exit_code)
    for message in report.messages:
        print(f"error: {message}", file=sys.stderr)
    return int(report.exit_code)
