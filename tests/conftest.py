"""Fixtures shared by every tier: real servers, buckets and stores."""

import json
import os
import uuid

import boto3
import pytest

from tests.support import servers


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """moto's S3 server on a loopback port, for the whole session."""
    for name, value in servers.CREDENTIALS.items():
        os.environ.setdefault(name, value)
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = servers.start_moto(log)
    # moto's Lambda records functions and accepts invocations without
    # running them; running them would need Docker.
    servers.fetch(
        f"{server.url}/moto-api/config",
        data=json.dumps({"lambda": {"use_docker": False}}).encode(),
    )
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = server.url
    yield server
    server.stop()
    if previous is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = previous


@pytest.fixture
def s3_client(moto_server):
    return boto3.client("s3", endpoint_url=moto_server.url)


@pytest.fixture
def bucket(s3_client):
    """A new, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"
