"""The job model: one typed, validated description of a benchmark job.

A job is read from a job file (TOML or YAML) and/or command-line options spelled as in the
original system (``--warmup-count 1000 --neo4j-deployment embedded``); options override the
file. :func:`parse_job` validates everything at once and raises :class:`ConfigError` with one
message per problem, naming the field and the allowed values.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from worker.contract import SECRET_KEYS
from worker.errors import ConfigError
from worker.jobfields import FIELD_HELP


class Tool(enum.StrEnum):
    JMH = "jmh"
    MACRO = "macro"
    COMMAND = "command"


class DbEdition(enum.StrEnum):
    COMMUNITY = "COMMUNITY"
    ENTERPRISE = "ENTERPRISE"


class TimeUnit(enum.StrEnum):
    NANOSECONDS = "NANOSECONDS"
    MICROSECONDS = "MICROSECONDS"
    MILLISECONDS = "MILLISECONDS"
    SECONDS = "SECONDS"

    @property
    def short(self) -> str:
        return {"NANOSECONDS": "ns", "MICROSECONDS": "us", "MILLISECONDS": "ms", "SECONDS": "s"}[
            self.value
        ]

    @property
    def nanos(self) -> int:
        return {"NANOSECONDS": 1, "MICROSECONDS": 10**3, "MILLISECONDS": 10**6, "SECONDS": 10**9}[
            self.value
        ]


class Runtime(enum.StrEnum):
    DEFAULT = "DEFAULT"
    INTERPRETED = "INTERPRETED"
    SLOTTED = "SLOTTED"
    COMPILED = "COMPILED"
    PIPELINED = "PIPELINED"
    PARALLEL = "PARALLEL"


class Planner(enum.StrEnum):
    DEFAULT = "DEFAULT"
    RULE = "RULE"
    COST = "COST"


class ExecutionMode(enum.StrEnum):
    EXECUTE = "EXECUTE"
    PLAN = "PLAN"
    PROFILE = "PROFILE"


class ErrorPolicy(enum.StrEnum):
    #: Run everything, record what succeeded, exit 0.
    IGNORE = "IGNORE"
    #: Run everything, record what succeeded, then exit "benchmark failed".
    REPORT_THEN_FAIL = "REPORT_THEN_FAIL"
    #: Stop at the first failing benchmark and exit "benchmark failed".
    FAIL = "FAIL"


class ProfilerName(enum.StrEnum):
    ASYNC = "ASYNC"
    GC = "GC"
    JFR = "JFR"
    JVM_LOGGING = "JVM_LOGGING"
    MP_STAT = "MP_STAT"
    IO_STAT = "IO_STAT"
    VM_STAT = "VM_STAT"
    PERF_STAT = "PERF_STAT"
    NMT = "NMT"
    OOM = "OOM"
    NO_OP = "NO_OP"


@dataclasses.dataclass(frozen=True)
class ProfilerSpec:
    """A profiler and its parameters, written ``NAME`` or ``NAME(k=v,...)``."""

    name: ProfilerName
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.name.value
        inner = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name.value}({inner})"


@dataclasses.dataclass(frozen=True)
class Job:
    """Everything a worker needs to know to run one benchmark job (never a secret)."""

    tool: Tool
    workload: str
    jvm: str
    warmup_count: int
    measurement_count: int
    execution_mode: ExecutionMode
    neo4j_deployment: str
    neo4j_commit: str
    neo4j_version: str
    neo4j_branch: str
    neo4j_branch_owner: str
    tool_commit: str
    tool_branch: str
    tool_branch_owner: str
    teamcity_build: str
    parent_teamcity_build: str
    triggered_by: str
    queries: tuple[str, ...] = ()
    db_edition: DbEdition = DbEdition.ENTERPRISE
    profilers: tuple[ProfilerSpec, ...] = ()
    min_measurement_duration: int = 30
    max_measurement_duration: int = 600
    forks: int = 1
    time_unit: TimeUnit = TimeUnit.MICROSECONDS
    runtime: Runtime = Runtime.DEFAULT
    planner: Planner = Planner.DEFAULT
    error_policy: ErrorPolicy = ErrorPolicy.REPORT_THEN_FAIL
    jvm_args: str = ""
    db_name: str = ""
    dataset: str = ""
    #: Logical artifact name -> path or URI (relative paths are relative to the job file).
    artifacts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: ``command`` tool: benchmark name -> command line (a string, split like a shell would).
    commands: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: ``jmh`` tool: extra JMH options (e.g. ``-r 1s -w 1s``) and JMH profilers (``-prof``).
    jmh_args: str = ""
    jmh_profilers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary; :func:`job_from_dict` reads it back."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif f.name == "profilers":
                value = [str(p) for p in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out


# --------------------------------------------------------------------------- field table


@dataclasses.dataclass(frozen=True)
class Field:
    """How one job field is read, validated and offered on the command line."""

    name: str
    #: Converts a raw value (from a file or the command line) or raises ValueError.
    convert: Callable[[Any], Any]
    required: bool = False
    #: Required only for these tools.
    required_for: frozenset[Tool] = frozenset()

    @property
    def help(self) -> str:
        """What the field means (``worker.jobfields``: the task modules read it from there)."""
        return FIELD_HELP[self.name]

    @property
    def option(self) -> str:
        """The original command-line spelling, e.g. ``--warmup-count``."""
        return "--" + self.name.replace("_", "-")


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_PROFILER_RE = re.compile(r"^([A-Z_]+)(?:\((.*)\))?$")


def _enum(cls: type[enum.StrEnum]) -> Callable[[Any], Any]:
    def convert(raw: Any) -> Any:
        text = str(raw).strip()
        try:
            return cls(text.upper() if cls is not Tool else text.lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"{text!r} is not one of: {allowed}") from None

    return convert


#: Upper bounds of the counts: far beyond any real benchmark, small enough that a typo
#: (``10**24``) is caught before a job runs for ever.
MAX_ITERATIONS = 1_000_000
MAX_FORKS = 1_000
MAX_DURATION_SECONDS = 7 * 24 * 3600


def _int(minimum: int, maximum: int) -> Callable[[Any], int]:
    def convert(raw: Any) -> int:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(f"{raw!r} is not a whole number")
        text = str(raw).strip()
        if len(text) > 20:
            raise ValueError(f"{text[:20]!r}... is not a whole number up to {maximum}")
        try:
            value = int(raw) if isinstance(raw, float) else int(text)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
        if value < minimum:
            raise ValueError(f"{value} is below the minimum of {minimum}")
        if value > maximum:
            raise ValueError(f"{value} is above the maximum of {maximum}")
        return value

    return convert


def _command_line(raw: Any) -> str:
    """Text that is split like a shell command line: an unclosed quote is found now, not when
    the job runs."""
    text = _text(raw)
    try:
        shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid command line ({exc})") from None
    return text


#: Dataset (database) names, as the macro tool reads them: no spaces, no path separators.
_DB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")


def _db_name(raw: Any) -> str:
    text = _text(raw)
    if text and not _DB_NAME_RE.match(text):
        raise ValueError(
            f"{text!r} is not a database name: 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return text


def _text(raw: Any) -> str:
    if isinstance(raw, (dict, list)):
        raise ValueError("must be a single value, not a list or table")
    return str(raw).strip()


def _name(raw: Any) -> str:
    text = _text(raw)
    if not _NAME_RE.match(text):
        raise ValueError(
            f"{text!r} must be 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return text


def _list(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, Mapping):
        raise ValueError("must be a comma list or a list, not a table")
    if raw is None or raw == "":
        return ()
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return tuple(str(i).strip() for i in items if str(i).strip())


def _split_profilers(text: str) -> list[str]:
    """Split ``GC,ASYNC(interval=1,event=cpu),JFR`` on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_profiler(text: str) -> ProfilerSpec:
    match = _PROFILER_RE.match(text.strip().upper() if "(" not in text else text.strip())
    if not match:
        raise ValueError(f"{text!r} is not NAME or NAME(key=value,...)")
    name = match.group(1).upper()
    try:
        profiler = ProfilerName(name)
    except ValueError:
        allowed = ", ".join(p.value for p in ProfilerName)
        raise ValueError(f"unknown profiler {name!r}; allowed: {allowed}") from None
    params: dict[str, str] = {}
    for pair in (match.group(2) or "").split(","):
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"profiler parameter {pair!r} of {name} is not key=value")
        params[key.strip()] = value.strip()
    return ProfilerSpec(profiler, params)


def _profilers(raw: Any) -> tuple[ProfilerSpec, ...]:
    items = raw if isinstance(raw, (list, tuple)) else _split_profilers(str(raw or ""))
    specs = tuple(parse_profiler(str(i)) for i in items)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("a profiler is listed twice")
    return specs


def _deployment(raw: Any) -> str:
    text = _text(raw)
    if text == "embedded" or (text.startswith("server:") and len(text) > len("server:")):
        return text
    raise ValueError(f"{text!r} is not 'embedded' or 'server:<path or URI of the product archive>'")


def _mapping(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise ValueError("must be a table of name = value")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"entry {key!r} must be a string")
        out[_name(key)] = str(value)
    return out


FIELDS: tuple[Field, ...] = (
    Field("tool", _enum(Tool), required=True),
    Field("workload", _name, required=True),
    Field("queries", _list),
    Field("db_edition", _enum(DbEdition)),
    Field("jvm", _text),
    Field("profilers", _profilers),
    Field("warmup_count", _int(0, MAX_ITERATIONS), required=True),
    Field("measurement_count", _int(1, MAX_ITERATIONS), required=True),
    Field("min_measurement_duration", _int(0, MAX_DURATION_SECONDS)),
    Field("max_measurement_duration", _int(1, MAX_DURATION_SECONDS)),
    Field("forks", _int(0, MAX_FORKS)),
    Field("time_unit", _enum(TimeUnit)),
    Field("runtime", _enum(Runtime)),
    Field("planner", _enum(Planner)),
    Field("execution_mode", _enum(ExecutionMode), required_for=frozenset({Tool.MACRO})),
    Field("error_policy", _enum(ErrorPolicy)),
    Field("jvm_args", _command_line),
    Field("neo4j_deployment", _deployment, required_for=frozenset({Tool.MACRO})),
    Field("neo4j_commit", _text, required=True),
    Field("neo4j_version", _text, required=True),
    Field("neo4j_branch", _text, required=True),
    Field("neo4j_branch_owner", _text, required=True),
    Field("tool_commit", _text, required=True),
    Field("tool_branch", _text, required=True),
    Field("tool_branch_owner", _text, required=True),
    Field("teamcity_build", _text, required=True),
    Field("parent_teamcity_build", _text, required=True),
    Field("triggered_by", _name, required=True),
    Field("db_name", _db_name, required_for=frozenset({Tool.MACRO})),
    Field("dataset", _text),
    Field("artifacts", _mapping),
    Field("commands", _mapping),
    Field("jmh_args", _command_line),
    Field("jmh_profilers", _list),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}

#: Artifacts each tool needs, by logical name.
REQUIRED_ARTIFACTS: Mapping[Tool, tuple[str, ...]] = {
    Tool.JMH: ("benchmarks",),
    Tool.MACRO: ("macro", "neo4j-config"),
    Tool.COMMAND: (),
}

_DEFAULTS: Mapping[str, Any] = {"jvm": "java", "execution_mode": ExecutionMode.EXECUTE}
_DEFAULT_NEO4J_DEPLOYMENT = "embedded"


def _normalise_key(key: str) -> str:
    return key.strip().lstrip("-").replace("-", "_").lower()


#: SECRET_KEYS as they read once normalised (``--results-store-pass`` -> ``results_store_pass``).
_SECRET_NAMES = frozenset(_normalise_key(k) for k in SECRET_KEYS)


def find_secret_keys(data: Mapping[str, Any], path: str = "") -> list[str]:
    """Keys anywhere in ``data`` that name a secret (they never belong in a job)."""
    found = []
    for key, value in data.items():
        where = f"{path}{key}"
        if _normalise_key(str(key)) in _SECRET_NAMES:
            found.append(where)
        if isinstance(value, Mapping):
            found.extend(find_secret_keys(value, where + "."))
    return found


def _merge(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Later layers win; artifact and command tables merge entry by entry."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            name = _normalise_key(str(key))
            if name in {"artifacts", "commands"} and isinstance(value, Mapping):
                merged[name] = {**merged.get(name, {}), **value}
            else:
                merged[name] = value
    return merged


def _convert(merged: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in merged.items():
        spec = FIELDS_BY_NAME.get(key)
        if spec is None:
            if key not in _SECRET_NAMES:
                problems.append(f"{key}: unknown field; known fields: {', '.join(FIELDS_BY_NAME)}")
            continue
        try:
            values[key] = spec.convert(raw)
        except ValueError as exc:
            problems.append(f"{spec.name} ({spec.option}): {exc}")
    return values


def parse_job(*layers: Mapping[str, Any]) -> Job:
    """Merge layers (later ones win: file, then options) and validate into a :class:`Job`.

    Raises :class:`ConfigError` listing every problem found.
    """
    merged = _merge(layers)
    problems = [
        f"{secret}: secrets never go into a job; give the results-store password "
        "through the environment or Secrets Manager (see README, 'Secrets')"
        for layer in layers
        for secret in find_secret_keys(layer)
    ]
    values = _convert(merged, problems)
    tool = values.get("tool")
    for spec in FIELDS:
        needed = spec.required or (tool is not None and tool in spec.required_for)
        if needed and spec.name not in merged:
            problems.append(f"{spec.name} ({spec.option}): required; {spec.help}")
    problems.extend(_check_consistency(values))
    if problems:
        raise ConfigError(problems)
    for key, default in _DEFAULTS.items():
        values.setdefault(key, default)
    values.setdefault("neo4j_deployment", _DEFAULT_NEO4J_DEPLOYMENT)
    return Job(**values)


def _check_consistency(values: Mapping[str, Any]) -> list[str]:
    problems = []
    tool = values.get("tool")
    lo = values.get("min_measurement_duration", Job.min_measurement_duration)
    hi = values.get("max_measurement_duration", Job.max_measurement_duration)
    if lo > hi:
        problems.append(
            f"min_measurement_duration ({lo}) is greater than max_measurement_duration ({hi})"
        )
    artifacts: Mapping[str, str] = values.get("artifacts", {})
    if tool is not None:
        for name in REQUIRED_ARTIFACTS[tool]:
            if name not in artifacts:
                problems.append(f"artifacts.{name}: required by the {tool.value} tool")
    if tool == Tool.MACRO and "db_name" in values and not values["db_name"]:
        problems.append("db_name (--db-name): required by the macro tool; dataset (database) name")
    if tool == Tool.COMMAND and not values.get("commands"):
        problems.append("commands: the command tool needs at least one 'name = command line'")
    if tool != Tool.COMMAND and values.get("commands"):
        problems.append(f"commands: only the command tool takes commands, not {tool}")
    commands: Mapping[str, str] = values.get("commands", {})
    for name, line in commands.items():
        try:
            if not shlex.split(line):
                problems.append(f"commands.{name}: empty command line")
        except ValueError as exc:
            problems.append(f"commands.{name}: {line!r} is not a valid command line ({exc})")
    unknown = [q for q in values.get("queries", ()) if commands and q not in commands]
    if tool == Tool.COMMAND and unknown:
        problems.append(
            f"queries (--queries): {', '.join(unknown)} not among the job's commands "
            f"({', '.join(commands)})"
        )
    return problems


def job_from_dict(data: Mapping[str, Any]) -> Job:
    """Read a job back from :meth:`Job.to_dict` output (validated again)."""
    return parse_job(data)


def field_names() -> Sequence[str]:
    return [f.name for f in FIELDS]
