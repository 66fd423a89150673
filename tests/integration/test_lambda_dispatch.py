"""Dispatch to Lambda: the invocation goes to moto's Lambda service, and
the event it carried is run through the real handler against moto's S3,
ending in a ready object served by the site.

Throttling cannot be had from moto; a botocore Stubber stands in for the
Lambda service there, in front of the same dispatcher code.
"""

import gzip
import io
import json
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from gtars.refget import digest_fasta

from fasta_drs.dispatch import LambdaDispatcher, get_dispatcher
from fasta_drs.drs import objects
from fasta_drs.generator.publishing import publish_store
from fasta_drs.models import FastaRequest
from lambda_handler import handler
from tests.support import drs_spec
from tests.support.genomes import build_store, random_bases
from tests.support.servers import fetch, free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BASE = "/ga4gh/drs/v1"


class Context:
    aws_request_id = "dispatch-test"

    def get_remaining_time_in_millis(self):
        return 600_000


@pytest.fixture
def site(settings, bucket, tmp_path, moto_server, monkeypatch):
    digest = build_store(
        tmp_path, [(f"chr{i}", None, random_bases(150_000, 70 + i)) for i in (1, 2)]
    )
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    function_name = f"generator-{bucket}"
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "OUTPUT": f"s3://{bucket}/fasta/",
        "CACHE_DIR": str(tmp_path / "site-cache"),
        "BACKEND": "lambda",
        "LAMBDA_FUNCTION": function_name,
    }
    monkeypatch.setattr(handler, "CACHE_DIR", str(tmp_path / "lambda-cache"))
    return {"digest": digest, "bucket": bucket, "function": function_name}


def create_function(name):
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("lambda_handler/handler.py", "def handle(e, c): ...")
    boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="lambda_handler.handler.handle",
        Code={"ZipFile": code.getvalue()},
    )


def recording_client():
    """A real Lambda client that remembers each Invoke it sends."""
    client = boto3.client("lambda")
    sent = []

    def remember(request, **kwargs):
        sent.append(
            {
                "invocation_type": request.headers["X-Amz-Invocation-Type"].decode(),
                "event": json.loads(request.body),
            }
        )

    def answered(http_response, **kwargs):
        sent[-1]["status"] = http_response.status_code

    client.meta.events.register("before-send.lambda.Invoke", remember)
    client.meta.events.register("after-call.lambda.Invoke", answered)
    return client, sent


def test_the_settings_choose_the_lambda_dispatcher(site):
    dispatcher = get_dispatcher()
    assert isinstance(dispatcher, LambdaDispatcher)
    assert dispatcher.function_name == site["function"]


def test_an_invocation_through_moto_runs_to_a_ready_object(
    client, site, monkeypatch, s3_client, tmp_path
):
    create_function(site["function"])
    lambda_client, sent = recording_client()
    dispatcher = LambdaDispatcher(site["function"], client=lambda_client)
    monkeypatch.setattr(objects, "get_dispatcher", lambda: dispatcher)
    digest = site["digest"]

    first = client.get(f"{BASE}/objects/{digest}")
    drs_spec.validate("/objects/{object_id}", "get", first)
    assert first.status_code == 202
    assert client.get(f"{BASE}/objects/{digest}").status_code == 202
    assert len(sent) == 1  # one invocation for two requests
    assert sent[0]["invocation_type"] == "Event"
    assert sent[0]["status"] == 202  # accepted for asynchronous running
    assert sent[0]["event"]["collection_digest"] == digest

    # What Lambda would run: the real handler with the event as sent.
    result = handler.handle(sent[0]["event"], Context())
    assert result["state"] == "ready"

    objects.forget_ready()
    access = client.get(f"{BASE}/objects/{digest}/access/s3")
    drs_spec.validate("/objects/{object_id}/access/{access_id}", "get", access)
    assert access.status_code == 200
    assert FastaRequest.objects.get(collection_digest=digest).state == "ready"
    status, _, body = fetch(access.json()["url"])
    assert status == 200
    plain = tmp_path / "downloaded.fa"
    plain.write_bytes(gzip.decompress(body))
    assert digest_fasta(str(plain)).digest == digest


@pytest.mark.parametrize(
    ("code", "http_status", "retry_after"),
    [("TooManyRequestsException", 429, "5"), ("ServiceException", 500, "30")],
)
def test_a_refusal_answers_503_and_leaves_nothing_running(
    client, site, monkeypatch, code, http_status, retry_after
):
    lambda_client = boto3.client("lambda")
    stubber = Stubber(lambda_client)
    stubber.add_client_error(
        "invoke", service_error_code=code, http_status_code=http_status
    )
    stubber.activate()
    dispatcher = LambdaDispatcher(site["function"], client=lambda_client)
    monkeypatch.setattr(objects, "get_dispatcher", lambda: dispatcher)

    response = client.get(f"{BASE}/objects/{site['digest']}")
    # The DRS spec lists no 503; the body is its error body all the same.
    assert response.status_code == 503
    assert response["Retry-After"] == retry_after
    assert set(response.json()) == {"msg", "status_code"}
    assert response.json()["status_code"] == 503
    row = FastaRequest.objects.get(collection_digest=site["digest"])
    assert row.state == "queued" and row.attempts == 0
    stubber.assert_no_pending_responses()


def test_an_unreachable_lambda_service_answers_503(client, site, monkeypatch):
    unreachable = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    dispatcher = LambdaDispatcher(site["function"], client=unreachable)
    monkeypatch.setattr(objects, "get_dispatcher", lambda: dispatcher)
    response = client.get(f"{BASE}/objects/{site['digest']}")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "EndpointConnectionError" in response.json()["msg"]
    row = FastaRequest.objects.get(collection_digest=site["digest"])
    assert row.state == "queued" and row.attempts == 0
