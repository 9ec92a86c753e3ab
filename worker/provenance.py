"""Facts about the machine and software a benchmark ran on."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

from worker.contract import Env


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def instance_type(product_name: Path = Path("/sys/devices/virtual/dmi/id/product_name")) -> str:
    """The machine model the firmware reports: on EC2 (Nitro) the instance type, e.g.
    ``m5d.xlarge``; elsewhere the hardware model. Read from DMI so no metadata call is needed."""
    try:
        return product_name.read_text().strip()
    except OSError:
        return ""


def memory_mib(meminfo: Path = Path("/proc/meminfo")) -> int:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def jdk_version(java: str) -> str:
    """``java -version``'s first line, e.g. ``openjdk version "17.0.15" 2025-04-15``."""
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[0] if lines else ""


def jdk_release(version_line: str) -> str:
    match = re.search(r'"([^"]+)"', version_line)
    return match.group(1) if match else ""


def collect(java: str | None) -> dict[str, Any]:
    version = jdk_version(java) if java else ""
    return {
        "host": socket.gethostname(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "instance_type": instance_type(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_mib": memory_mib(),
        "jdk_version": version,
        "jdk_release": jdk_release(version),
        "python": platform.python_version(),
        "image": os.environ.get(Env.WORKER_IMAGE, ""),
    }
