"""The Lambda function: check the event, run the generator, report.

The event names one generation (see `fasta_drs.generator.events`).

The handler stops the generation cleanly before the function's deadline
(its upload aborted, a retriable error in the status object) so the next
attempt starts fresh. Retriable failures are raised, so that Lambda's own
retries of asynchronous invocations apply; permanent ones are returned, so
that nothing retries what cannot succeed. Logs are one JSON object a line.
"""

import json
import logging
import os
import sys
import time

from fasta_drs.generator import GenerationError, InvalidOptions, generate_fasta
from fasta_drs.generator.events import parse_event

logger = logging.getLogger("lambda_handler")
logger.setLevel(logging.INFO)
# Each record is exactly one JSON object on one line of stderr, which
# Lambda sends to CloudWatch Logs as is; the runtime's own handler, which
# prefixes level and time, is not used for these.
_lines = logging.StreamHandler(sys.stderr)
_lines.setFormatter(logging.Formatter("%(message)s"))
logger.addHandler(_lines)
logger.propagate = False

# Stop this long before the deadline: enough to abort the upload and write
# the status object.
DEADLINE_MARGIN_MS = 20_000
CACHE_DIR = os.environ.get("FASTA_DRS_CACHE_DIR", "/tmp/fasta-drs-cache")


def _log(**fields):
    logger.info(json.dumps(fields, sort_keys=True))


def handle(event, context):
    """Lambda entry point."""
    request_id = getattr(context, "aws_request_id", None)
    started = time.monotonic()
    try:
        store, digest, output, options = parse_event(event)
    except InvalidOptions as error:
        _log(request_id=request_id, stage="rejected", error=error.as_dict())
        return {"state": "failed", **error.as_dict()}

    def near_deadline():
        return context.get_remaining_time_in_millis() < DEADLINE_MARGIN_MS

    _log(request_id=request_id, collection_digest=digest, stage="started")
    try:
        manifest = generate_fasta(
            store,
            digest,
            output,
            cache_dir=CACHE_DIR,
            should_stop=near_deadline,
            **options,
        )
    except GenerationError as error:
        _log(
            request_id=request_id,
            collection_digest=digest,
            stage="failed",
            seconds=round(time.monotonic() - started, 3),
            error=error.as_dict(),
        )
        if error.retriable:
            raise
        return {"state": "failed", "collection_digest": digest, **error.as_dict()}

    _log(
        request_id=request_id,
        collection_digest=digest,
        stage="finished",
        bases=manifest["bases"],
        bytes=manifest["size"],
        seconds=manifest["seconds"]["total"],
    )
    return {
        "state": "ready",
        "collection_digest": digest,
        "size": manifest["size"],
        "sha256": manifest["sha256"],
    }
