"""The deployment against moto's IAM, Lambda and S3: every resource, the
exact policy, and that a second run changes nothing."""

import base64
import hashlib
import io
import json
import zipfile
from contextlib import redirect_stdout

import boto3
import pytest

from lambda_handler import deploy

pytestmark = pytest.mark.integration

REGION = "us-east-1"


@pytest.fixture
def package(tmp_path):
    """A small stand-in zip: the deployment only moves and hashes it."""
    path = tmp_path / "function.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lambda_handler/handler.py", "def handle(event, context): ...")
    return path


@pytest.fixture
def aws(moto_server):
    return {
        name: boto3.client(name, endpoint_url=moto_server.url, region_name=REGION)
        for name in ("iam", "lambda", "s3")
    }


@pytest.fixture
def arguments(bucket, package, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    return [
        "--store",
        f"s3://{bucket}/store/",
        "--output",
        f"s3://{bucket}/fasta/",
        "--function-name",
        f"generator-{bucket}",
        "--zip",
        str(package),
        "--memory",
        "3584",
        "--expire-days",
        "14",
        "--cors-origin",
        "https://genomes.example.org",
    ]


def run(arguments):
    output = io.StringIO()
    with redirect_stdout(output):
        status = deploy.main(arguments)
    text = output.getvalue()
    return status, json.loads(text[: text.rindex("}") + 1])


def actions(plan):
    return {step["resource"]: step["action"] for step in plan["steps"]}


def test_dry_run_prints_the_plan_and_changes_nothing(arguments, aws, bucket):
    status, plan = run([*arguments, "--dry-run"])
    assert status == 0
    assert plan["dry_run"] is True
    assert set(actions(plan).values()) == {"create"}
    assert len(plan["steps"]) == 6
    names = [role["RoleName"] for role in aws["iam"].list_roles()["Roles"]]
    assert f"generator-{bucket}-role" not in names
    functions = aws["lambda"].list_functions()["Functions"]
    assert f"generator-{bucket}" not in [f["FunctionName"] for f in functions]


def test_deploy_creates_every_resource_as_configured(
    arguments, aws, bucket, package, s3_client
):
    # A rule of someone else's, which the deployment must keep.
    s3_client.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "logs",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "logs/"},
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )
    status, plan = run(arguments)
    assert status == 0 and set(actions(plan).values()) == {"create"}
    function_name, role_name = f"generator-{bucket}", f"generator-{bucket}-role"

    role = aws["iam"].get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"] == deploy.TRUST_POLICY
    policy = aws["iam"].get_role_policy(
        RoleName=role_name, PolicyName=deploy.POLICY_NAME
    )["PolicyDocument"]
    log_group = (
        f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/lambda/{function_name}"
    )
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadStore",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/store/*"],
            },
            {
                "Sid": "WriteFasta",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}/fasta/*"],
            },
            {
                "Sid": "ListKeys",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Sid": "ListUploads",
                "Effect": "Allow",
                "Action": ["s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": [log_group],
            },
            {
                "Sid": "OwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group}:*"],
            },
        ],
    }
    assert (
        aws["iam"].list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        == []
    )
    assert aws["iam"].list_role_policies(RoleName=role_name)["PolicyNames"] == [
        deploy.POLICY_NAME
    ]

    function = aws["lambda"].get_function(FunctionName=function_name)["Configuration"]
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["x86_64"]
    assert function["Handler"] == "lambda_handler.handler.handle"
    assert function["Role"] == role["Arn"]
    assert function["MemorySize"] == 3584
    assert function["Timeout"] == 900
    assert function["EphemeralStorage"] == {"Size": 10240}
    assert function["Environment"]["Variables"] == {
        "FASTA_DRS_CACHE_DIR": "/tmp/fasta-drs-cache"
    }
    digest = base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
    assert function["CodeSha256"] == digest

    invoke = aws["lambda"].get_function_event_invoke_config(FunctionName=function_name)
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["MaximumEventAgeInSeconds"] == 3600

    rules = {
        rule["ID"]: rule
        for rule in s3_client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    }
    assert set(rules) == {"logs", deploy.LIFECYCLE_RULE_ID}
    ours = rules[deploy.LIFECYCLE_RULE_ID]
    assert ours["Filter"] == {"Prefix": "fasta/"}
    assert ours["Expiration"] == {"Days": 14}
    assert ours["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert ours["Status"] == "Enabled"

    (cors,) = s3_client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors["ID"] == deploy.CORS_RULE_ID
    assert cors["AllowedMethods"] == ["GET", "HEAD"]
    assert cors["AllowedOrigins"] == ["https://genomes.example.org"]
    assert "Content-Range" in cors["ExposeHeaders"]


def _state(aws, bucket):
    function_name = f"generator-{bucket}"
    return {
        "function": aws["lambda"].get_function(FunctionName=function_name)[
            "Configuration"
        ],
        "policy": aws["iam"].get_role_policy(
            RoleName=f"{function_name}-role", PolicyName=deploy.POLICY_NAME
        )["PolicyDocument"],
        "lifecycle": aws["s3"].get_bucket_lifecycle_configuration(Bucket=bucket)[
            "Rules"
        ],
        "cors": aws["s3"].get_bucket_cors(Bucket=bucket)["CORSRules"],
    }


def test_a_second_run_changes_nothing(arguments, aws, bucket):
    assert run(arguments)[0] == 0
    before = _state(aws, bucket)

    status, plan = run(arguments)
    assert status == 0
    assert set(actions(plan).values()) == {"unchanged"}
    assert _state(aws, bucket) == before  # LastModified included


def test_a_changed_setting_updates_only_its_resource(arguments, aws, bucket):
    assert run(arguments)[0] == 0
    changed = [*arguments[:-6], "--memory", "1769", *arguments[-4:]]
    status, plan = run(changed)
    assert status == 0
    steps = {step["resource"]: step for step in plan["steps"]}
    assert steps["lambda_function"]["action"] == "update"
    assert steps["lambda_function"]["changes"] == ["MemorySize"]
    assert [s for s in steps.values() if s["action"] != "unchanged"] == [
        steps["lambda_function"]
    ]
    function = aws["lambda"].get_function(FunctionName=f"generator-{bucket}")
    assert function["Configuration"]["MemorySize"] == 1769


def test_a_missing_package_is_a_clear_error(arguments, tmp_path, capsys):
    arguments[arguments.index("--zip") + 1] = str(tmp_path / "absent.zip")
    assert deploy.main(arguments) == 1
    assert "python -m lambda_handler.build" in capsys.readouterr().err
