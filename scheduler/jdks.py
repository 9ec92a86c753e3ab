"""How each JDK the stack offers gets into a worker image, and what the image must then report.

An image tag names its JDK (``openjdk_21``); the scheduler matches jobs to JDKs by that tag, so
an image holding another JDK than its tag says would run benchmarks on the wrong JVM without
anyone noticing. Every JDK tag therefore has an install recipe here: a package of the image's
base distribution (Debian 12 ships only OpenJDK 17), or a pinned release archive with its
SHA-256. The image build checks ``java -version`` against the tag's major version and fails on
a mismatch; a tag without a recipe is refused before anything is built.
"""

from __future__ import annotations

import dataclasses

from worker.errors import ConfigError

#: The instance types of the stack are x86_64: images and wheels are built for this platform
#: whatever the build host is.
TARGET_PLATFORM = "linux/amd64"
#: Labels every worker image carries (read them with ``docker image inspect``).
LABEL_JDK = "org.benchmarking.jdk"
LABEL_JDK_SOURCE = "org.benchmarking.jdk-source"
LABEL_PLATFORM = "org.benchmarking.platform"


@dataclasses.dataclass(frozen=True)
class JdkInstall:
    """One JDK: either ``package`` (apt) or ``archive_url`` with ``archive_sha256``."""

    tag: str
    major: int
    package: str = ""
    archive_url: str = ""
    archive_sha256: str = ""

    @property
    def source(self) -> str:
        return f"debian:{self.package}" if self.package else self.archive_url

    def build_args(self) -> dict[str, str]:
        """The worker Dockerfile's build arguments for this JDK."""
        return {
            "JDK_PACKAGE": self.package,
            "JDK_ARCHIVE_URL": self.archive_url,
            "JDK_ARCHIVE_SHA256": self.archive_sha256,
            "JDK_MAJOR": str(self.major),
        }

    def labels(self) -> dict[str, str]:
        return {
            LABEL_JDK: self.tag,
            LABEL_JDK_SOURCE: self.source,
            LABEL_PLATFORM: TARGET_PLATFORM,
        }


_TEMURIN_21 = (
    "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.9%2B10/"
    "OpenJDK21U-jdk_x64_linux_hotspot_21.0.9_10.tar.gz"
)

JDK_INSTALLS: dict[str, JdkInstall] = {
    jdk.tag: jdk
    for jdk in (
        JdkInstall("openjdk_17", 17, package="openjdk-17-jdk-headless"),
        # Debian 12 has no OpenJDK 21: Eclipse Temurin's x64 build, pinned and checksummed
        JdkInstall(
            "openjdk_21",
            21,
            archive_url=_TEMURIN_21,
            archive_sha256="810d3773df7e0d6c4394e4e244b264c8b30e0b05a0acf542d065fd78a6b65c2f",
        ),
    )
}


def jdk_install(tag: str) -> JdkInstall:
    """The recipe of ``tag``; a clear refusal for a JDK no image can be built with."""
    try:
        return JDK_INSTALLS[tag]
    except KeyError:
        known = ", ".join(sorted(JDK_INSTALLS))
        raise ConfigError(
            f"no way to install JDK {tag!r} in the worker image (known: {known}); add a recipe "
            "to scheduler/jdks.py rather than building an image whose tag names another JDK"
        ) from None
