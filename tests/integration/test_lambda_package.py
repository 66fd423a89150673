"""The Lambda zip, built for real and run from an empty directory.

The handler runs in a fresh CPython 3.12 whose import path holds only the
unpacked zip and the standard library (``-I -S``), against moto's S3
server: what the function would have on Lambda, without the service.
"""

import gzip
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from gtars.refget import digest_fasta

from fasta_drs.generator.publishing import publish_store
from lambda_handler import build
from tests.support import servers
from tests.support.genomes import build_store, random_bases

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUN_HANDLER = """
import json, sys
sys.path.insert(0, sys.argv[1])

class Context:
    aws_request_id = "package-test"
    def get_remaining_time_in_millis(self):
        return 600_000

from lambda_handler import handler
result = handler.handle(json.loads(sys.argv[2]), Context())
import gtars
print(json.dumps({
    "result": result,
    "path": sys.path,
    "gtars": gtars.__file__,
    "django": sorted(m for m in sys.modules if m.split(".")[0] == "django"),
}))
"""


def python312():
    """A CPython 3.12, the runtime's interpreter, or None."""
    candidates = [shutil.which("python3.12")]
    candidates += sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    for candidate in filter(None, candidates):
        completed = subprocess.run(
            [str(candidate), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode == 0 and completed.stdout.strip() == "(3, 12)":
            return str(candidate)
    return None


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lambda")
    report = build.build(directory / "function.zip")
    task = directory / "task"
    with zipfile.ZipFile(report["zip"]) as archive:
        archive.extractall(task)
    return report, task


def test_the_zip_holds_the_handler_the_generator_and_no_django(package):
    report, _ = package
    with zipfile.ZipFile(report["zip"]) as archive:
        names = set(archive.namelist())
    assert "lambda_handler/handler.py" in names
    assert "fasta_drs/generator/pipeline.py" in names
    assert "fasta_drs/generator/export_worker.py" in names
    assert any(name.startswith("gtars/") and ".so" in name for name in names)
    tops = {name.split("/")[0] for name in names}
    assert {"gtars", "deflate", "boto3", "botocore"} <= tops
    assert "django" not in tops and "rest_framework" not in tops
    assert not any(name.startswith("fasta_drs/drs/") for name in names)
    assert "fasta_drs/models.py" not in names
    assert report["zip_bytes"] < 50 * 1024 * 1024  # a direct upload's limit


def test_the_handler_runs_from_the_unpacked_zip_alone(
    package, moto_server, s3_client, bucket, tmp_path
):
    interpreter = python312()
    if interpreter is None:
        pytest.skip("no CPython 3.12 here to stand in for the Lambda runtime")
    _, task = package
    records = [(f"chr{i}", None, random_bases(300_000, 40 + i)) for i in range(3)]
    digest = build_store(tmp_path / "genome", records)
    publish_store(tmp_path / "genome" / "store", f"s3://{bucket}/store/")
    event = {
        "store": f"s3://{bucket}/store/",
        "collection_digest": digest,
        "output": f"s3://{bucket}/fasta/",
    }
    empty = tmp_path / "cwd"
    empty.mkdir()
    environment = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": moto_server.url,
        "FASTA_DRS_CACHE_DIR": str(tmp_path / "lambda-tmp"),
        **servers.CREDENTIALS,
    }
    completed = subprocess.run(
        [interpreter, "-I", "-S", "-c", RUN_HANDLER, str(task), json.dumps(event)],
        cwd=empty,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["result"]["state"] == "ready", report["result"]
    assert report["django"] == []
    assert report["gtars"].startswith(str(task))
    assert all(
        entry == str(task) or "site-packages" not in entry for entry in report["path"]
    )
    # The handler logged one JSON object per line.
    stages = [
        json.loads(line)["stage"]
        for line in completed.stderr.splitlines()
        if line.startswith("{")
    ]
    assert stages[0] == "started" and stages[-1] == "finished"

    stored = s3_client.get_object(Bucket=bucket, Key=f"fasta/{digest}.fa.gz")
    plain = tmp_path / "downloaded.fa"
    plain.write_bytes(gzip.decompress(stored["Body"].read()))
    assert digest_fasta(str(plain)).digest == digest
    manifest = json.loads(
        s3_client.get_object(Bucket=bucket, Key=f"fasta/{digest}.json")["Body"].read()
    )
    assert manifest["sha256"] == report["result"]["sha256"]


def test_a_runtime_that_cannot_load_gtars_is_refused(tmp_path):
    with pytest.raises(build.BuildError, match=r"python3\.12 or newer"):
        build.build(tmp_path / "old.zip", "python3.11")
    assert not list(tmp_path.iterdir())
