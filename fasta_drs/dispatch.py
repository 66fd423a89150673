"""Hand one generation to the configured backend: Celery or AWS Lambda.

Both dispatchers take a collection digest, build the same event
(`fasta_drs.generator.events`) from the settings, and either hand it over
or raise `DispatchUnavailable`, which the API answers with 503 and
``Retry-After``. Neither waits for the generation.
"""

import functools
import json
import logging

from django.conf import settings

from .generator import s3
from .generator.events import generation_event
from .services import DispatchUnavailable

logger = logging.getLogger(__name__)


def event_for(collection_digest):
    config = settings.FASTA_DRS
    return generation_event(config["STORE"], collection_digest, config["OUTPUT"])


class CeleryDispatcher:
    """Queue the generation as a Celery task."""

    name = "celery"

    def dispatch(self, collection_digest):
        from kombu.exceptions import OperationalError

        from .tasks import generate

        try:
            generate.delay(event_for(collection_digest))
        except OperationalError as exc:
            raise DispatchUnavailable(
                f"The Celery broker cannot be reached: {exc}. Check CELERY_BROKER_URL."
            ) from exc


class LambdaDispatcher:
    """Invoke the Lambda function asynchronously with the event."""

    name = "lambda"

    def __init__(self, function_name, client=None):
        self.function_name = function_name
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = _lambda_client()
        return self._client

    def dispatch(self, collection_digest):
        payload = json.dumps(event_for(collection_digest)).encode()
        try:
            self.client.invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=payload
            )
        except s3.TRANSPORT_ERRORS as exc:
            code = s3.error_code(exc)
            logger.warning(
                "lambda invocation refused: %s",
                code,
                extra={"collection_digest": collection_digest},
            )
            retry = 5 if code == "TooManyRequestsException" else 30
            raise DispatchUnavailable(
                f"The generation service refused the request ({code}); try again.",
                retry_after_seconds=retry,
            ) from exc


@functools.cache
def _lambda_client():
    """One Lambda client per process: making one takes tens of ms, and
    boto3 clients are safe to share between threads."""
    import boto3

    return boto3.client("lambda")


def get_dispatcher():
    """Return the dispatcher the settings name."""
    config = settings.FASTA_DRS
    if config["BACKEND"] == "lambda":
        return LambdaDispatcher(config["LAMBDA_FUNCTION"])
    return CeleryDispatcher()
