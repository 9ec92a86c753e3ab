"""Reading jobs from job files (TOML or YAML) and command-line options.

Command-line options use the original spellings (``--warmup-count 1000``) and override the
file. Relative artifact and dataset paths are relative to the job file.
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.job import FIELDS, Job, parse_job
from worker.jobfields import MAPPING_FIELDS

#: A job file is a few KiB; anything this large is not one.
MAX_JOB_FILE_BYTES = 1024 * 1024


def read_job_file(path: Path) -> dict[str, Any]:
    """The raw table of a job file; ConfigError when it is missing, unreadable or malformed."""
    if not path.is_file():
        raise ConfigError(f"job file {path}: no such file")
    try:
        if path.stat().st_size > MAX_JOB_FILE_BYTES:
            raise ConfigError(f"job file {path}: larger than {MAX_JOB_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"job file {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"job file {path}: cannot be read ({exc.strerror})") from None
    if path.suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"job file {path}: not valid TOML ({exc})") from None
    elif path.suffix in {".yaml", ".yml"}:
        import yaml  # only here: the worker's start-up (tool start) never reads YAML

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"job file {path}: not valid YAML ({exc})") from None
    else:
        raise ConfigError(f"job file {path}: use a .toml, .yaml or .yml file")
    if not isinstance(data, dict):
        raise ConfigError(f"job file {path}: must be a table of field = value")
    return data


def load_job(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Job:
    """The job of ``path`` (optional) with ``overrides`` applied, validated."""
    layers: list[Mapping[str, Any]] = []
    if path is not None:
        layers.append(read_job_file(path))
    layers.append({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_job(*layers)


def add_job_options(parser: argparse.ArgumentParser) -> None:
    """Every job field as an option with its original spelling (all optional)."""
    group = parser.add_argument_group("job fields (override the job file)")
    for field in FIELDS:
        if field.name in MAPPING_FIELDS:
            continue
        group.add_argument(field.option, dest=field.name, default=None, help=field.help)
    group.add_argument(
        "--artifact",
        dest="artifact",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="an artifact, logical name = path or URI (repeatable)",
    )


def job_overrides(options: Mapping[str, Any], artifacts: Iterable[str] = ()) -> dict[str, Any]:
    """The job fields given as options, plus ``--artifact NAME=PATH`` items."""
    values: dict[str, Any] = {
        f.name: options.get(f.name) for f in FIELDS if f.name not in MAPPING_FIELDS
    }
    named = {}
    for item in artifacts:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--artifact {item!r}: write NAME=PATH")
        named[name] = value
    if named:
        values["artifacts"] = named
    return values


def overrides_from_namespace(ns: argparse.Namespace) -> dict[str, Any]:
    return job_overrides(vars(ns), getattr(ns, "artifact", None) or [])
