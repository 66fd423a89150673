"""The Celery task that runs one generation with the shared generator.

Thin: it reads the event, calls the generator and logs the outcome. The
generator's status and manifest objects carry the result to the site, as
they do for the Lambda backend; Celery's own retries are not used, because
the site retries failed generations by its own policy.
"""

import logging

from celery import shared_task
from django.conf import settings

from .generator import GenerationError, InvalidOptions, generate_fasta
from .generator.events import parse_event

logger = logging.getLogger(__name__)


@shared_task(name="fasta_drs.generate", ignore_result=True, acks_late=True)
def generate(event):
    """Generate the FASTA that ``event`` names; return a short result."""
    try:
        store, digest, output, options = parse_event(event)
    except InvalidOptions as error:
        logger.error("rejected generation event: %s", error.message)
        return {"state": "failed", **error.as_dict()}
    try:
        manifest = generate_fasta(
            store, digest, output, cache_dir=settings.FASTA_DRS["CACHE_DIR"], **options
        )
    except GenerationError as error:
        # The generator logged it and wrote it to the status object.
        return {"state": "failed", "collection_digest": digest, **error.as_dict()}
    return {"state": "ready", "collection_digest": digest, "size": manifest["size"]}
