"""TeamCity service messages (through ``teamcity-messages``), where the tasks run in CI.

On when ``TEAMCITY_VERSION`` is set (TeamCity sets it in every build) or asked for with
``--teamcity``. TeamCity then folds uploads and waiting into blocks, lists a build problem per
failed job, charts ``buildStatisticValue`` per benchmark, shows comparisons and regressions
as tests (failed when slower beyond noise) and attaches the HTML report as an artifact. The
library does the escaping (``|``, ``'``, ``[``, ``]``, newlines).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from teamcity.messages import TeamcityServiceMessages

if TYPE_CHECKING:  # comparisons and regressions import numpy: not for every schedule's blocks
    from scheduler.batch import JobDescription
    from scheduler.compare import Comparison
    from scheduler.regressions import Finding

TEAMCITY_ENV = "TEAMCITY_VERSION"


def wanted(flag: bool | None, environ: Mapping[str, str] | None = None) -> bool:
    """``--teamcity`` given, or running inside a TeamCity build."""
    return bool(flag) or bool((os.environ if environ is None else environ).get(TEAMCITY_ENV))


class _TextSink:
    """The library writes bytes to streams with a buffer; we hand it text and a flush."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()


class TeamCity:
    """Service messages on ``stream`` (stdout by default: TeamCity reads the build log)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._messages = TeamcityServiceMessages(
            output=_TextSink(stream or sys.stdout), encoding=None
        )

    @contextlib.contextmanager
    def block(self, name: str) -> Iterator[None]:
        self.open_block(name)
        try:
            yield
        finally:
            self.close_block(name)

    def open_block(self, name: str) -> None:
        self._messages.blockOpened(name)

    def close_block(self, name: str) -> None:
        self._messages.blockClosed(name)

    def progress(self, text: str) -> None:
        self._messages.progressMessage(text)

    def build_problem(self, description: str, identity: str) -> None:
        # TeamCity truncates descriptions at 4000 characters and identities at 60
        self._messages.buildProblem(description[:4000], identity[:60])

    def statistic(self, key: str, value: float) -> None:
        self._messages.message("buildStatisticValue", key=key, value=f"{value:.6g}")

    def publish_artifacts(self, path: str) -> None:
        self._messages.publishArtifacts(path)

    def test(self, name: str, failure: str | None = None, details: str = "") -> None:
        self._messages.testStarted(name)
        if failure is not None:
            self._messages.testFailed(name, message=failure, details=details)
        self._messages.testFinished(name)

    def comparisons(self, comparisons: Iterable[Comparison], suite: str = "compare") -> None:
        """One test per benchmark; failed when slower beyond noise."""
        from scheduler.compare import Verdict

        self._messages.testSuiteStarted(suite)
        for c in comparisons:
            ratio = "n/a" if c.ratio is None else f"{c.ratio:.3f}"
            summary = f"{c.verdict.value}: ratio {ratio} (base {c.base_median}, contender "
            summary += f"{c.contender_median} {c.unit}; p={c.p_value})"
            failed = c.verdict is Verdict.SLOWER
            self.test(f"{suite}.{c.benchmark}", summary if failed else None, summary)
        self._messages.testSuiteFinished(suite)

    def findings(self, findings: Iterable[Finding], suite: str = "regressions") -> None:
        """One test per change point; a regression fails."""
        self._messages.testSuiteStarted(suite)
        for f in findings:
            text = (
                f"{f.direction.value}: ratio {f.ratio:.3f} [{f.ratio_low:.3f}, "
                f"{f.ratio_high:.3f}], p={f.p_value:.2g}; last good {f.last_good.test_run_id} "
                f"(commit {f.last_good.commit}), first bad {f.first_bad.test_run_id} "
                f"(commit {f.first_bad.commit})"
            )
            name = f"{suite}.{f.series} @ {f.first_bad.test_run_id}"
            self.test(name, text if f.is_regression else None, text)
        self._messages.testSuiteFinished(suite)

    def failed_jobs(
        self, jobs: Iterable[JobDescription], describe_log: Callable[[JobDescription], str]
    ) -> None:
        """A build problem per failed Batch job, with where its log is."""
        for job in jobs:
            self.build_problem(
                f"{job.name} (job {job.job_id}) failed: {job.reason or 'no reason given'}; "
                f"logs: {describe_log(job)}",
                identity=job.job_id,
            )

    def document_statistics(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """The median of every benchmark of these results documents as a build statistic."""
        values: dict[str, float] = {}
        for document in documents:
            workload = (document.get("job") or {}).get("workload", "")
            for bench in document.get("benchmarks") or []:
                params = ",".join(
                    f"{k}={v}" for k, v in sorted((bench.get("params") or {}).items())
                )
                name = f"{bench['group']}/{bench['name']}" + (f"[{params}]" if params else "")
                median = (bench.get("summary") or {}).get("perc_50")
                if median is not None:
                    values[f"bench.{workload}.{name}.median.{bench['unit']}"] = float(median)
        self.benchmark_statistics(values)

    def benchmark_statistics(self, values: Mapping[str, float]) -> None:
        """``buildStatisticValue`` per benchmark, so TeamCity charts them across builds."""
        for key, value in sorted(values.items()):
            self.statistic(key, value)
