"""TeamCity service messages as TeamCity parses them, escaping included."""

from __future__ import annotations

import io

from scheduler.changepoints import Direction
from scheduler.compare import Comparison, Verdict
from scheduler.regressions import Finding, RunRef
from scheduler.teamcity import TeamCity, wanted
from tests.history.servicemessages import parse

TRICKY = "a|b 'c' [d]\nsecond line"


def _comparison(name: str, verdict: Verdict) -> Comparison:
    return Comparison(name, "avgt", "us/op", 10.0, 12.0, 1.2, 1e-5, 50, 50, verdict)


def test_comparisons_are_tests_and_slower_ones_fail() -> None:
    out = io.StringIO()
    TeamCity(out).comparisons(
        [_comparison(TRICKY, Verdict.SLOWER), _comparison("b.same", Verdict.SAME)]
    )
    messages = parse(out.getvalue())
    assert [m[0] for m in messages] == [
        "testSuiteStarted",
        "testStarted",
        "testFailed",
        "testFinished",
        "testStarted",
        "testFinished",
        "testSuiteFinished",
    ]
    failed = messages[2][1]
    assert failed["name"] == f"compare.{TRICKY}"  # every special character survives
    assert failed["message"].startswith("slower: ratio 1.200")


def test_findings_statistics_problems_blocks_and_artifacts() -> None:
    out = io.StringIO()
    tc = TeamCity(out)
    run = RunRef("tr-1", "2026-01-01", "abc", "12")
    finding = Finding(
        "s", "b", "jmh", "env", "us/op", Direction.SLOWER, run, run, 1.1, 1.05, 1.15, 1e-6, 1
    )
    with tc.block("waiting for run [x]"):
        tc.findings([finding])
    tc.benchmark_statistics({"bench.p50 'x'": 12.5})
    tc.build_problem("job j-1 failed | log: https://logs/x\nsee there", "j-1")
    tc.publish_artifacts("report => report.zip")
    messages = parse(out.getvalue())
    names = [m[0] for m in messages]
    assert names[0] == "blockOpened" and messages[0][1]["name"] == "waiting for run [x]"
    assert "testFailed" in names and names[names.index("testFailed") - 1] == "testStarted"
    stat = next(p for n, p in messages if n == "buildStatisticValue")
    assert stat == {"key": "bench.p50 'x'", "value": "12.5", "timestamp": stat["timestamp"]}
    problem = next(p for n, p in messages if n == "buildProblem")
    assert problem["description"] == "job j-1 failed | log: https://logs/x\nsee there"
    assert problem["identity"] == "j-1"
    assert next(p for n, p in messages if n == "publishArtifacts") == {"": "report => report.zip"}


def test_wanted_when_teamcity_runs_the_build_or_asked() -> None:
    assert wanted(None, {"TEAMCITY_VERSION": "2025.07"})
    assert wanted(True, {})
    assert not wanted(False, {})
