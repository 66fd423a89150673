"""`make run`'s program, driven as a person would: the walk-through it
prints, then Ctrl-C, after which none of its processes is left."""

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gtars.refget import digest_fasta

from tests.support.servers import fetch, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def processes_with(marker):
    """Pids of live processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def read_until(stream, pattern, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    raise AssertionError("the stack did not come up:\n" + "".join(seen))


def test_make_run_serves_the_demo_and_stops_cleanly(tmp_path):
    port = free_port()
    marker = f"FASTA_DRS_DEMO_DIR={tmp_path}"
    environment = dict(
        os.environ,
        PORT=str(port),
        FASTA_DRS_DEMO_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    for name in ("AWS_ENDPOINT_URL", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"):
        environment.pop(name, None)
    stack = subprocess.Popen(
        [sys.executable, "-m", "fasta_drs.demo.stack"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = read_until(stack.stdout, r"Press Ctrl-C", timeout=120)
        digest = re.search(r"collection digest (\S+)", banner).group(1)
        drs = f"http://127.0.0.1:{port}/ga4gh/drs/v1"

        status, headers, _ = fetch(f"{drs}/objects/{digest}/access/s3")
        assert status == 202 and int(headers["Retry-After"]) >= 1
        deadline = time.monotonic() + 60
        while status == 202 and time.monotonic() < deadline:
            time.sleep(int(headers["Retry-After"]))
            status, headers, body = fetch(f"{drs}/objects/{digest}/access/s3")
        assert status == 200

        downloads = {}
        for suffix in ("", ".fai", ".gzi"):
            _, _, body = fetch(f"{drs}/objects/{digest}{suffix}/access/s3")
            _, _, downloads[suffix] = fetch(json.loads(body)["url"])
        fasta = tmp_path / "demo.fa.gz"
        fasta.write_bytes(downloads[""])
        (tmp_path / "demo.fa.gz.fai").write_bytes(downloads[".fai"])
        (tmp_path / "demo.fa.gz.gzi").write_bytes(downloads[".gzi"])
        plain = tmp_path / "demo.fa"
        plain.write_bytes(gzip.decompress(downloads[""]))
        assert digest_fasta(str(plain)).digest == digest
        if shutil.which("samtools"):
            region = subprocess.run(
                ["samtools", "faidx", str(fasta), "chrB:14001-14060"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()
            assert region[0] == ">chrB:14001-14060" and len(region[1]) == 60
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(timeout=60)
    assert processes_with(marker) == []
