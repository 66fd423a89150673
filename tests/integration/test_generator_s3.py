"""The generator against a real S3 server (moto over HTTP) and over https."""

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from fasta_drs.generator import (
    CollectionNotFound,
    GenerationCancelled,
    StoreUnavailable,
    VerificationFailed,
    generate_fasta,
)
from fasta_drs.generator.publishing import publish_store
from tests.support import servers
from tests.support.genomes import ODD_RECORDS, build_store, random_bases

pytestmark = pytest.mark.integration


def get(s3_client, bucket, key):
    return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()


def keys(s3_client, bucket, prefix=""):
    reply = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in reply.get("Contents", []))


def open_uploads(s3_client, bucket):
    return s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


@pytest.fixture(scope="module")
def two_genomes(tmp_path_factory):
    """A store directory with two collections sharing no sequences."""
    directory = tmp_path_factory.mktemp("two")
    first = build_store(directory, ODD_RECORDS, name="first.fa")
    second_records = [
        ("s1", None, random_bases(5000, 1)),
        ("s2", None, random_bases(7, 2)),
    ]
    second = build_store(directory, second_records, name="second.fa")
    return directory / "store", first, second


@pytest.fixture(scope="module")
def large_store(tmp_path_factory):
    """A store big enough that a generation takes a few seconds."""
    directory = tmp_path_factory.mktemp("large")
    records = [(f"chr{i}", None, random_bases(3_000_000, i)) for i in range(1, 9)]
    return directory / "store", build_store(directory, records)


def test_s3_store_to_s3_output_writes_every_object(
    two_genomes, s3_client, bucket, cache_dir
):
    store, digest, _ = two_genomes
    publish_store(store, f"s3://{bucket}/store/")
    manifest = generate_fasta(
        f"s3://{bucket}/store/", digest, f"s3://{bucket}/fasta/", cache_dir=cache_dir
    )
    assert keys(s3_client, bucket, "fasta/") == sorted(
        f"fasta/{digest}{suffix}"
        for suffix in (".fa.gz", ".fa.gz.fai", ".fa.gz.gzi", ".json", ".status.json")
    )
    data = get(s3_client, bucket, f"fasta/{digest}.fa.gz")
    assert manifest["size"] == len(data)
    assert manifest["md5"] == hashlib.md5(data).hexdigest()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert json.loads(get(s3_client, bucket, f"fasta/{digest}.json")) == manifest
    status = json.loads(get(s3_client, bucket, f"fasta/{digest}.status.json"))
    assert status["state"] == "ready"
    assert not open_uploads(s3_client, bucket)

    # The same bytes as the directory path writes.
    local = generate_fasta(store, digest, cache_dir / "local-out")
    assert local["sha256"] == manifest["sha256"]


def test_s3_store_fetches_only_the_collection_files_and_reuses_them(
    two_genomes, bucket, cache_dir
):
    store, _first, second = two_genomes
    publish_store(store, f"s3://{bucket}/store/")
    source = f"s3://{bucket}/store/"
    output = f"s3://{bucket}/fasta/"
    generate_fasta(source, second, output, cache_dir=cache_dir)

    (cached,) = [path for path in cache_dir.iterdir() if path.is_dir()]
    seq_files = sorted(path.name for path in cached.rglob("*.seq"))
    assert len(seq_files) == 2  # s1 and s2, not the odd genome's eight
    assert sorted(p.name for p in (cached / "collections").iterdir()) == [
        f"{second}.rgsi"
    ]

    again = generate_fasta(source, second, output, cache_dir=cache_dir)
    assert again["store"]["fetched_bytes"] == len(
        (cached / "rgstore.json").read_bytes()
    )


def test_a_changed_store_refreshes_the_cached_indexes(tmp_path, bucket, cache_dir):
    digest_one = build_store(
        tmp_path, [("a", None, random_bases(900, 3))], name="one.fa"
    )
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    generate_fasta(
        f"s3://{bucket}/store/", digest_one, tmp_path / "out", cache_dir=cache_dir
    )

    # A second collection published later must be found through the cache.
    digest_two = build_store(
        tmp_path, [("b", None, random_bases(700, 4))], name="two.fa"
    )
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    manifest = generate_fasta(
        f"s3://{bucket}/store/", digest_two, tmp_path / "out", cache_dir=cache_dir
    )
    assert manifest["names"] == ["b"]


def test_unknown_collection_in_s3_is_not_found_and_writes_no_fasta(
    two_genomes, s3_client, bucket, cache_dir
):
    store, _, _ = two_genomes
    publish_store(store, f"s3://{bucket}/store/")
    with pytest.raises(CollectionNotFound):
        generate_fasta(
            f"s3://{bucket}/store/",
            "B" * 32,
            f"s3://{bucket}/fasta/",
            cache_dir=cache_dir,
        )
    assert keys(s3_client, bucket, "fasta/") == [f"fasta/{'B' * 32}.status.json"]


def test_missing_store_and_unreachable_endpoint_are_retriable(
    bucket, cache_dir, tmp_path
):
    with pytest.raises(StoreUnavailable, match="does not exist") as missing:
        generate_fasta(
            f"s3://{bucket}/nothing/", "C" * 32, tmp_path, cache_dir=cache_dir
        )
    assert missing.value.retriable

    closed = f"http://127.0.0.1:{servers.free_port()}"
    with pytest.raises(StoreUnavailable, match="Could not read") as unreachable:
        generate_fasta(
            f"s3://{bucket}/store/",
            "C" * 32,
            tmp_path / "out",
            endpoint_url=closed,
            cache_dir=cache_dir,
        )
    assert unreachable.value.retriable


def test_verification_failure_in_s3_leaves_no_object_and_no_upload(
    tmp_path, s3_client, bucket, cache_dir
):
    records = [("good", None, random_bases(200_000, 5)), ("bad", None, "ACGU" * 1000)]
    digest = build_store(tmp_path, records, encoded=True)  # U decodes as T
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    with pytest.raises(VerificationFailed, match="'bad'"):
        generate_fasta(
            f"s3://{bucket}/store/",
            digest,
            f"s3://{bucket}/fasta/",
            cache_dir=cache_dir,
        )
    assert keys(s3_client, bucket, "fasta/") == [f"fasta/{digest}.status.json"]
    assert not open_uploads(s3_client, bucket)
    status = json.loads(get(s3_client, bucket, f"fasta/{digest}.status.json"))
    assert status["state"] == "failed"
    assert status["error"]["code"] == "verification_failed"


def test_a_cancelled_generation_aborts_its_upload(large_store, s3_client, bucket):
    store, digest = large_store
    seen = []

    def stop_after_some_progress():
        return len(seen) > 3

    with pytest.raises(GenerationCancelled):
        generate_fasta(
            store,
            digest,
            f"s3://{bucket}/fasta/",
            part_size=5 * 1024 * 1024,
            on_progress=seen.append,
            should_stop=stop_after_some_progress,
        )
    assert f"fasta/{digest}.fa.gz" not in keys(s3_client, bucket)
    assert not open_uploads(s3_client, bucket)
    status = json.loads(get(s3_client, bucket, f"fasta/{digest}.status.json"))
    assert status["state"] == "failed"
    assert status["error"] == {
        "code": "cancelled",
        "message": status["error"]["message"],
        "retriable": True,
    }


def _start_cli(store, digest, output):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fasta_drs.generator",
            str(store),
            digest,
            output,
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_upload(s3_client, bucket, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if open_uploads(s3_client, bucket):
            return
        time.sleep(0.02)
    raise AssertionError("the generation never started its upload")


def test_sigterm_midway_exits_retriable_and_leaves_nothing(
    large_store, s3_client, bucket
):
    store, digest = large_store
    process = _start_cli(store, digest, f"s3://{bucket}/fasta/")
    _wait_for_upload(s3_client, bucket, process)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == os.EX_TEMPFAIL
    assert json.loads(stdout)["code"] == "cancelled"
    assert f"fasta/{digest}.fa.gz" not in keys(s3_client, bucket)
    assert not open_uploads(s3_client, bucket)


def test_sigkill_midway_publishes_nothing_and_the_next_run_cleans_up(
    large_store, s3_client, bucket
):
    store, digest = large_store
    process = _start_cli(store, digest, f"s3://{bucket}/fasta/")
    _wait_for_upload(s3_client, bucket, process)
    process.kill()
    process.communicate(timeout=30)
    assert f"fasta/{digest}.fa.gz" not in keys(s3_client, bucket)
    assert len(open_uploads(s3_client, bucket)) == 1

    # The dead generation's status still says "running", so by default the
    # next one leaves its upload alone until that status is stale; told that
    # any age is stale, it aborts the upload at once and completes.
    generate_fasta(store, digest, f"s3://{bucket}/fasta/", stale_upload_seconds=0)
    assert f"fasta/{digest}.fa.gz" in keys(s3_client, bucket)
    assert not open_uploads(s3_client, bucket)


def test_uploads_of_a_live_twin_are_left_alone_and_dead_ones_aborted(
    two_genomes, s3_client, bucket
):
    store, _, digest = two_genomes
    key = f"fasta/{digest}.fa.gz"
    live = s3_client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    running = {"state": "running", "updated_time": datetime.now(UTC).isoformat()}
    s3_client.put_object(
        Bucket=bucket, Key=f"fasta/{digest}.status.json", Body=json.dumps(running)
    )
    generate_fasta(store, digest, f"s3://{bucket}/fasta/")
    assert [upload["UploadId"] for upload in open_uploads(s3_client, bucket)] == [live]

    # Now the status says ready: the leftover belongs to no live generation.
    generate_fasta(store, digest, f"s3://{bucket}/fasta/")
    assert not open_uploads(s3_client, bucket)


def test_https_store_is_read_through_gtars_open_remote(two_genomes, tmp_path):
    store, digest, _ = two_genomes
    server = servers.start_range_server(store.parent)
    try:
        url = f"{server.url}/{store.name}"
        manifest = generate_fasta(
            url, digest, tmp_path / "out", cache_dir=tmp_path / "c"
        )
        again = generate_fasta(url, digest, tmp_path / "out2", cache_dir=tmp_path / "c")
    finally:
        server.stop()
    local = generate_fasta(store, digest, tmp_path / "local")
    assert manifest["sha256"] == local["sha256"] == again["sha256"]
    assert manifest["store"]["fetched_bytes"] > 0
    assert again["store"]["fetched_bytes"] == 0


def test_cli_prints_one_json_line_and_exits_by_kind_of_result(two_genomes, tmp_path):
    store, digest, _ = two_genomes

    def run(*arguments):
        return subprocess.run(
            [sys.executable, "-m", "fasta_drs.generator", *map(str, arguments)],
            capture_output=True,
            text=True,
        )

    done = run(store, digest, tmp_path / "out", "--line-width", "70")
    assert done.returncode == 0
    summary = json.loads(done.stdout)
    assert summary["state"] == "ready"
    assert (
        summary["sha256"]
        == json.loads((tmp_path / "out" / f"{digest}.json").read_text())["sha256"]
    )
    with gzip.open(tmp_path / "out" / f"{digest}.fa.gz", "rt") as handle:
        handle.readline()
        assert len(handle.readline().rstrip("\n")) <= 70

    missing = run(store, "D" * 32, tmp_path / "out")
    assert missing.returncode == 2
    assert "no collection" in missing.stderr
    assert json.loads(missing.stdout)["code"] == "collection_not_found"

    unreachable = run(
        f"s3://{'b' * 5}/store/",
        digest,
        tmp_path / "out",
        "--endpoint-url",
        f"http://127.0.0.1:{servers.free_port()}",
    )
    assert unreachable.returncode == os.EX_TEMPFAIL

    usage = run(store)
    assert usage.returncode == os.EX_USAGE


def test_generator_imports_and_runs_without_django(two_genomes, tmp_path):
    store, digest, _ = two_genomes
    program = f"""
import importlib.abc, sys

class NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ModuleNotFoundError("No module named 'django'", name=name)
        return None

sys.meta_path.insert(0, NoDjango())
from fasta_drs.generator import generate_fasta
manifest = generate_fasta({str(store)!r}, {digest!r}, {str(tmp_path / "out")!r})
assert not any(m == "django" or m.startswith("django.") for m in sys.modules)
print(manifest["sha256"])
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 64
