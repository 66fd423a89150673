"""Create or update everything the Lambda generator needs, idempotently.

    python -m lambda_handler.deploy --store s3://BUCKET/store/ \\
        --output s3://BUCKET/fasta/ [--zip PATH] [--dry-run]

Resources, each read first and changed only where it differs:

- the IAM role the function runs as, with one inline policy: read the
  store prefix; read, write, delete, list parts of and abort uploads under
  the FASTA prefix; list the buckets' keys (without which S3 answers a
  missing key with 403, not 404) and the output bucket's open uploads;
  write the function's own logs. Nothing else.
- the function: runtime, architecture, handler, memory, timeout,
  ephemeral storage, environment and code (compared by SHA-256);
- its asynchronous invocation settings: retry attempts, maximum event age;
- an S3 lifecycle rule on the FASTA prefix: generated files expire after
  ``--expire-days``, incomplete multipart uploads are aborted after a day;
- a bucket CORS rule that lets a browser download a presigned URL.

Other rules already on the bucket are kept. ``--dry-run`` prints the plan
as JSON and changes nothing; a run prints the same plan, then applies it.
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from fasta_drs.generator.errors import InvalidOptions
from fasta_drs.generator.locations import parse_location

from .build import ARCHITECTURE, DEFAULT_OUTPUT, DEFAULT_RUNTIME, HANDLER

POLICY_NAME = "fasta-drs-generator"
LIFECYCLE_RULE_ID = "fasta-drs-generated-files"
CORS_RULE_ID = "fasta-drs-download"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# A role just created takes a few seconds before Lambda may assume it.
ROLE_PROPAGATION_ATTEMPTS = 10
ROLE_PROPAGATION_SECONDS = 3


class DeployError(Exception):
    """The deployment cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Settings:
    """What to deploy. Defaults suit a human genome (3.1 Gb)."""

    store: str
    output: str
    function_name: str = "fasta-drs-generator"
    zip_path: Path = DEFAULT_OUTPUT
    runtime: str = DEFAULT_RUNTIME
    # 3584 MB gives the function two vCPUs; the generator uses both.
    memory_mb: int = 3584
    timeout_seconds: int = 900
    # The store's sequence files are cached in /tmp: 3.1 GB for a human
    # genome in a Raw store.
    ephemeral_storage_mb: int = 10240
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600
    expire_days: int = 30
    cors_origins: tuple[str, ...] = ("*",)
    region: str | None = None

    @property
    def role_name(self):
        return f"{self.function_name}-role"


@dataclass
class Step:
    """One resource: what it should be, and what a run will do to it."""

    resource: str
    name: str
    action: str  # "create", "update" or "unchanged"
    desired: dict
    changes: list = field(default_factory=list)
    apply: object = None

    def as_dict(self):
        return {
            "resource": self.resource,
            "name": self.name,
            "action": self.action,
            "changes": self.changes,
            "desired": self.desired,
        }


def role_policy(settings, region, account):
    """The function's inline policy, least privilege."""
    store, output = _s3_location(settings.store), _s3_location(settings.output)
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/"
    log_group += settings.function_name
    buckets = sorted({store.bucket, output.bucket})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadStore",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{store.bucket}/{store.prefix}*"],
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
                "Resource": [f"arn:aws:s3:::{output.bucket}/{output.prefix}*"],
            },
            {
                "Sid": "ListKeys",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}" for bucket in buckets],
            },
            {
                "Sid": "ListUploads",
                "Effect": "Allow",
                "Action": ["s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{output.bucket}"],
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


def _s3_location(text):
    try:
        location = parse_location(text)
    except InvalidOptions as error:
        raise DeployError(str(error)) from None
    if location.kind != "s3":
        raise DeployError(f"{text} must be an s3://bucket/prefix/ location.")
    return location


def _code_sha256(zip_path):
    return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()


def _missing(error, *codes):
    return isinstance(error, ClientError) and error.response["Error"]["Code"] in codes


class Deployment:
    """Plans and applies the resources of one `Settings`."""

    def __init__(self, settings, session=None):
        self.settings = settings
        session = session or boto3.session.Session(region_name=settings.region)
        self.region = session.region_name
        if not self.region:
            raise DeployError("No AWS region: set AWS_REGION or pass --region.")
        self.iam = session.client("iam")
        self.lambda_ = session.client("lambda")
        self.s3 = session.client("s3")
        self.account = session.client("sts").get_caller_identity()["Account"]
        self.output = _s3_location(settings.output)
        _s3_location(settings.store)
        self.role_arn = f"arn:aws:iam::{self.account}:role/{settings.role_name}"

    def plan(self):
        """Return the `Step` of every resource, reading what exists."""
        return [
            self._role_step(),
            self._policy_step(),
            self._function_step(),
            self._invoke_config_step(),
            self._lifecycle_step(),
            self._cors_step(),
        ]

    def apply(self, steps):
        for step in steps:
            if step.action != "unchanged":
                step.apply()

    # The role and its policy.

    def _role_step(self):
        name = self.settings.role_name
        desired = {"AssumeRolePolicyDocument": TRUST_POLICY}
        try:
            current = self.iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if not _missing(error, "NoSuchEntity"):
                raise
            return Step(
                "iam_role",
                name,
                "create",
                desired,
                apply=lambda: self.iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                    Description="Runs the seqcol FASTA generator on Lambda",
                ),
            )
        if _document(current["AssumeRolePolicyDocument"]) == TRUST_POLICY:
            return Step("iam_role", name, "unchanged", desired)
        return Step(
            "iam_role",
            name,
            "update",
            desired,
            ["AssumeRolePolicyDocument"],
            apply=lambda: self.iam.update_assume_role_policy(
                RoleName=name, PolicyDocument=json.dumps(TRUST_POLICY)
            ),
        )

    def _policy_step(self):
        name = self.settings.role_name
        policy = role_policy(self.settings, self.region, self.account)
        try:
            current = self.iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)
            same = _document(current["PolicyDocument"]) == policy
            action = "unchanged" if same else "update"
        except ClientError as error:
            if not _missing(error, "NoSuchEntity"):
                raise
            action = "create"
        return Step(
            "iam_role_policy",
            f"{name}/{POLICY_NAME}",
            action,
            policy,
            apply=lambda: self.iam.put_role_policy(
                RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy)
            ),
        )

    # The function.

    def _function_configuration(self):
        settings = self.settings
        return {
            "Runtime": settings.runtime,
            "Handler": HANDLER,
            "Role": self.role_arn,
            "MemorySize": settings.memory_mb,
            "Timeout": settings.timeout_seconds,
            "EphemeralStorage": {"Size": settings.ephemeral_storage_mb},
            "Environment": {
                "Variables": {"FASTA_DRS_CACHE_DIR": "/tmp/fasta-drs-cache"}
            },
        }

    def _function_step(self):
        settings = self.settings
        zip_path = Path(settings.zip_path)
        if not zip_path.exists():
            raise DeployError(
                f"No package at {zip_path}: build it with "
                f"`python -m lambda_handler.build --output {zip_path}`."
            )
        configuration = self._function_configuration()
        code_sha256 = _code_sha256(zip_path)
        desired = {
            **configuration,
            "Architectures": [ARCHITECTURE],
            "CodeSha256": code_sha256,
        }
        try:
            current = self.lambda_.get_function(FunctionName=settings.function_name)[
                "Configuration"
            ]
        except ClientError as error:
            if not _missing(error, "ResourceNotFoundException"):
                raise
            return Step(
                "lambda_function",
                settings.function_name,
                "create",
                desired,
                apply=lambda: self._create_function(configuration, zip_path),
            )
        changes = [
            key
            for key, value in desired.items()
            if _function_value(current, key) != value
        ]
        if not changes:
            return Step("lambda_function", settings.function_name, "unchanged", desired)
        return Step(
            "lambda_function",
            settings.function_name,
            "update",
            desired,
            changes,
            apply=lambda: self._update_function(configuration, zip_path, changes),
        )

    def _create_function(self, configuration, zip_path):
        for attempt in range(ROLE_PROPAGATION_ATTEMPTS):
            try:
                self.lambda_.create_function(
                    FunctionName=self.settings.function_name,
                    Code={"ZipFile": zip_path.read_bytes()},
                    Architectures=[ARCHITECTURE],
                    PackageType="Zip",
                    Description="Generates BGZF FASTA files from a RefgetStore",
                    **configuration,
                )
                break
            except ClientError as error:
                role_not_ready = _missing(error, "InvalidParameterValueException")
                if not role_not_ready or attempt == ROLE_PROPAGATION_ATTEMPTS - 1:
                    raise
                time.sleep(ROLE_PROPAGATION_SECONDS)
        self._wait("function_active_v2")

    def _update_function(self, configuration, zip_path, changes):
        name = self.settings.function_name
        if {"CodeSha256", "Architectures"} & set(changes):
            self.lambda_.update_function_code(
                FunctionName=name,
                ZipFile=zip_path.read_bytes(),
                Architectures=[ARCHITECTURE],
            )
            self._wait("function_updated_v2")
        if set(changes) - {"CodeSha256", "Architectures"}:
            self.lambda_.update_function_configuration(
                FunctionName=name, **configuration
            )
            self._wait("function_updated_v2")

    def _wait(self, waiter):
        self.lambda_.get_waiter(waiter).wait(
            FunctionName=self.settings.function_name,
            WaiterConfig={"Delay": 2, "MaxAttempts": 150},
        )

    def _invoke_config_step(self):
        name = self.settings.function_name
        desired = {
            "MaximumRetryAttempts": self.settings.retry_attempts,
            "MaximumEventAgeInSeconds": self.settings.max_event_age_seconds,
        }
        try:
            current = self.lambda_.get_function_event_invoke_config(FunctionName=name)
            action = (
                "unchanged"
                if all(current.get(key) == value for key, value in desired.items())
                else "update"
            )
        except ClientError as error:
            if not _missing(error, "ResourceNotFoundException"):
                raise
            action = "create"
        return Step(
            "lambda_async_invoke_config",
            name,
            action,
            desired,
            apply=lambda: self.lambda_.put_function_event_invoke_config(
                FunctionName=name, **desired
            ),
        )

    # The bucket.

    def _lifecycle_step(self):
        bucket = self.output.bucket
        rule = {
            "ID": LIFECYCLE_RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": self.output.prefix},
            "Expiration": {"Days": self.settings.expire_days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        try:
            rules = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except ClientError as error:
            if not _missing(error, "NoSuchLifecycleConfiguration"):
                raise
            rules = []
        return self._rule_step(
            "s3_lifecycle_rule",
            f"{bucket}/{LIFECYCLE_RULE_ID}",
            rule,
            rules,
            lambda merged: self.s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": merged}
            ),
        )

    def _cors_step(self):
        bucket = self.output.bucket
        rule = {
            "ID": CORS_RULE_ID,
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": list(self.settings.cors_origins),
            "AllowedHeaders": ["Range"],
            "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"],
            "MaxAgeSeconds": 3600,
        }
        try:
            rules = self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        except ClientError as error:
            if not _missing(error, "NoSuchCORSConfiguration"):
                raise
            rules = []
        return self._rule_step(
            "s3_cors_rule",
            f"{bucket}/{CORS_RULE_ID}",
            rule,
            rules,
            lambda merged: self.s3.put_bucket_cors(
                Bucket=bucket, CORSConfiguration={"CORSRules": merged}
            ),
        )

    @staticmethod
    def _rule_step(resource, name, rule, rules, put):
        ours = [current for current in rules if current.get("ID") == rule["ID"]]
        others = [current for current in rules if current.get("ID") != rule["ID"]]
        if ours and all(ours[0].get(key) == value for key, value in rule.items()):
            return Step(resource, name, "unchanged", rule)
        return Step(
            resource,
            name,
            "update" if ours else "create",
            rule,
            apply=lambda: put([*others, rule]),
        )


def _document(value):
    """A policy document as a dict, whether the API gave text or JSON."""
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def _function_value(configuration, key):
    value = configuration.get(key)
    if key == "Environment":
        return {"Variables": (value or {}).get("Variables", {})}
    if key == "EphemeralStorage":
        return {"Size": (value or {}).get("Size", 512)}
    return value


def parse_arguments(argv=None):
    defaults = Settings(store="", output="")
    parser = argparse.ArgumentParser(
        prog="python -m lambda_handler.deploy", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--store",
        default=os.environ.get("FASTA_DRS_STORE"),
        help="the RefgetStore, s3://bucket/prefix/ (default: $FASTA_DRS_STORE)",
    )
    parser.add_argument(
        "--output",
        default=os.environ.get("FASTA_DRS_OUTPUT"),
        help="where FASTA files go, s3://bucket/prefix/ (default: $FASTA_DRS_OUTPUT)",
    )
    parser.add_argument("--function-name", default=defaults.function_name)
    parser.add_argument("--zip", type=Path, default=defaults.zip_path)
    parser.add_argument("--runtime", default=defaults.runtime)
    parser.add_argument("--memory", type=int, default=defaults.memory_mb, help="MB")
    parser.add_argument(
        "--timeout", type=int, default=defaults.timeout_seconds, help="seconds"
    )
    parser.add_argument(
        "--ephemeral-storage",
        type=int,
        default=defaults.ephemeral_storage_mb,
        help="MB of /tmp",
    )
    parser.add_argument("--retry-attempts", type=int, default=defaults.retry_attempts)
    parser.add_argument(
        "--max-event-age", type=int, default=defaults.max_event_age_seconds
    )
    parser.add_argument("--expire-days", type=int, default=defaults.expire_days)
    parser.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        help="origin allowed to download presigned URLs (repeatable; default *)",
    )
    parser.add_argument("--region", default=None)
    parser.add_argument("--dry-run", action="store_true", help="print the plan only")
    arguments = parser.parse_args(argv)
    if not arguments.store or not arguments.output:
        parser.error("--store and --output are required (or FASTA_DRS_STORE/OUTPUT)")
    settings = Settings(
        store=arguments.store,
        output=arguments.output,
        function_name=arguments.function_name,
        zip_path=arguments.zip,
        runtime=arguments.runtime,
        memory_mb=arguments.memory,
        timeout_seconds=arguments.timeout,
        ephemeral_storage_mb=arguments.ephemeral_storage,
        retry_attempts=arguments.retry_attempts,
        max_event_age_seconds=arguments.max_event_age,
        expire_days=arguments.expire_days,
        cors_origins=tuple(arguments.cors_origins or ("*",)),
        region=arguments.region,
    )
    return settings, arguments.dry_run


def main(argv=None):
    settings, dry_run = parse_arguments(argv)
    try:
        deployment = Deployment(settings)
        steps = deployment.plan()
        plan = {
            "region": deployment.region,
            "account": deployment.account,
            "dry_run": dry_run,
            "steps": [step.as_dict() for step in steps],
        }
        print(json.dumps(plan, indent=2, default=str))
        if not dry_run:
            deployment.apply(steps)
            changed = [step.name for step in steps if step.action != "unchanged"]
            print(
                f"deployed: {len(changed)} changed, "
                f"{len(steps) - len(changed)} unchanged",
                file=sys.stderr,
            )
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(
            f"error: AWS refused or could not be reached: {error}. Check the "
            "credentials, the region and the permissions to manage IAM, "
            "Lambda and the bucket.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
