"""Writes to `FastaRequest`: record a request, start at most one generation.

A request for a digest creates its row if needed, counts the request, and
starts a generation when none is under way: the row was never dispatched,
its running generation's lease expired, or it failed and its retry is due
with attempts left. Starting is a conditional ``UPDATE`` that matches the
row's state and attempt number as read, so of any number of concurrent
requests exactly one wins and dispatches; the others see the row already
queued. If the dispatcher refuses (the service is throttled or down), the
claim is undone, so the row is not left looking busy.

Completion is learned from the generator's manifest and status objects in
S3 (`learn_state`), which the Celery task and the Lambda function write the
same way; a ready row is then served from the database alone, and checked
against the bucket at most every `VERIFY_SECONDS` (`verify_ready`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import FastaRequest

logger = logging.getLogger(__name__)

State = FastaRequest.State

# A ready object is looked for in the bucket again after this long.
VERIFY_SECONDS = 300
# Status objects stamped this much before the dispatch are an earlier
# attempt's; the margin absorbs clock differences between machines.
CLOCK_SLACK = timedelta(seconds=10)


class DispatchUnavailable(Exception):
    """The generation backend cannot take work now; try again later."""

    def __init__(self, message, retry_after_seconds=30):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Policy:
    """How long a generation may be silent, and how failures are retried."""

    lease_seconds: int = 900
    max_attempts: int = 3
    backoff_seconds: int = 30  # doubled after each failed attempt


def request_generation(collection_digest, dispatcher, policy=Policy(), now=None):
    """Record one request for ``collection_digest``; start it if due.

    Args:
        collection_digest: A digest the registry knows (checked by callers).
        dispatcher: Has ``name`` and ``dispatch(collection_digest)``, which
            hands the work to Celery or Lambda, or raises
            `DispatchUnavailable`.
        policy: Lease and retry settings.
        now: The current time, for tests.

    Returns:
        The row as it is after this request, and whether this request
        dispatched a generation.

    Raises:
        DispatchUnavailable: This request won the claim but the backend
            refused it; the claim was undone.
    """
    now = now or timezone.now()
    row, _ = FastaRequest.objects.get_or_create(collection_digest=collection_digest)
    FastaRequest.objects.filter(pk=row.pk).update(
        request_count=F("request_count") + 1, last_requested_at=now
    )
    row.request_count += 1  # as stored, unless others counted meanwhile
    if not is_due(row, policy, now):
        return row, False
    return start_generation(row, dispatcher, policy, now)


def start_generation(row, dispatcher, policy=Policy(), now=None):
    """Claim ``row`` for a new attempt and dispatch it, if nobody else did.

    Returns:
        The row after the claim, and whether this call dispatched.

    Raises:
        DispatchUnavailable: The backend refused; the claim was undone.
    """
    now = now or timezone.now()
    collection_digest = row.collection_digest
    if not _claim(row, dispatcher.name, policy, now):
        row.refresh_from_db()
        return row, False

    try:
        dispatcher.dispatch(collection_digest)
    except DispatchUnavailable:
        _release(row)
        logger.warning(
            "dispatch refused; claim released",
            extra={"collection_digest": collection_digest, "backend": dispatcher.name},
        )
        raise
    logger.info(
        "generation dispatched",
        extra={
            "collection_digest": collection_digest,
            "backend": dispatcher.name,
            "attempt": row.attempts + 1,
        },
    )
    row.refresh_from_db()
    return row, True


def is_due(row, policy, now):
    """Whether a new generation should start for ``row`` now."""
    if row.state == State.QUEUED and row.attempts == 0:
        return True
    if row.state in (State.QUEUED, State.RUNNING):
        return row.lease_expires_at is not None and row.lease_expires_at <= now
    if row.state == State.FAILED:
        retry_due = row.retry_after is not None and row.retry_after <= now
        return retry_due and row.attempts < policy.max_attempts
    return False


def _claim(row, backend, policy, now):
    """Move ``row`` to queued for a new attempt, if nobody else did."""
    with transaction.atomic():
        claimed = FastaRequest.objects.filter(
            pk=row.pk, state=row.state, attempts=row.attempts
        ).update(
            state=State.QUEUED,
            attempts=F("attempts") + 1,
            backend=backend,
            dispatched_at=now,
            started_at=None,
            finished_at=None,
            lease_expires_at=now + timedelta(seconds=policy.lease_seconds),
            retry_after=None,
            progress=0.0,
        )
    return claimed == 1


def _release(row):
    """Undo a claim whose dispatch failed: back to the state as read."""
    FastaRequest.objects.filter(pk=row.pk, attempts=row.attempts + 1).update(
        state=row.state,
        attempts=row.attempts,
        lease_expires_at=row.lease_expires_at,
        retry_after=row.retry_after,
    )


def learn_state(row, outputs, policy=Policy(), now=None):
    """Advance a queued or running row from its manifest and status objects.

    Returns:
        The row, refreshed when it changed.
    """
    if row.state not in (State.QUEUED, State.RUNNING):
        return row
    now = now or timezone.now()
    manifest = outputs.manifest(row.collection_digest)
    if manifest is not None:
        return _mark_ready(row, manifest, now)

    status = outputs.status(row.collection_digest)
    if not status or not _is_current(status, row):
        return row
    current = FastaRequest.objects.filter(pk=row.pk, attempts=row.attempts)
    if status.get("state") == "running":
        progress = (status.get("progress") or {}).get("fraction", 0.0)
        # The lease runs from the generation's last report, not from now: a
        # generation that stopped reporting is retried when it runs out.
        heard = _parse_time(status.get("updated_time")) or now
        current.update(
            state=State.RUNNING,
            started_at=_parse_time(status.get("started_time")) or now,
            progress=progress,
            lease_expires_at=heard + timedelta(seconds=policy.lease_seconds),
        )
    elif status.get("state") == "failed":
        _mark_failed(row, status.get("error") or {}, policy, now)
    row.refresh_from_db()
    return row


def verify_ready(row, outputs, now=None):
    """Check now and then that a ready object is still in the bucket.

    An object that a lifecycle rule expired, or someone deleted, sends the
    row back to the start, so the next request generates it again.
    """
    now = now or timezone.now()
    if row.state != State.READY:
        return row
    if row.verified_at and now - row.verified_at < timedelta(seconds=VERIFY_SECONDS):
        return row
    if outputs.exists(row.collection_digest):
        FastaRequest.objects.filter(pk=row.pk).update(verified_at=now)
    else:
        logger.warning(
            "ready object is gone from the bucket; it will be generated again",
            extra={"collection_digest": row.collection_digest},
        )
        outputs.delete(row.collection_digest)
        invalidate(row)
    row.refresh_from_db()
    return row


def invalidate(row):
    """Forget a row's objects: the next request starts a new generation."""
    FastaRequest.objects.filter(pk=row.pk).update(
        state=State.QUEUED,
        attempts=0,
        progress=0.0,
        size=None,
        md5="",
        sha256="",
        created_time=None,
        manifest=None,
        verified_at=None,
        lease_expires_at=None,
        retry_after=None,
    )


def _mark_ready(row, manifest, now):
    created = _parse_time(manifest["created_time"])
    started = row.started_at
    if started is None and created is not None:
        # Finished before the site saw it running: the manifest says when.
        started = created - timedelta(seconds=manifest["seconds"]["total"])
    FastaRequest.objects.filter(pk=row.pk, attempts=row.attempts).update(
        state=State.READY,
        started_at=started,
        progress=1.0,
        size=manifest["size"],
        md5=manifest["md5"],
        sha256=manifest["sha256"],
        bases=manifest["bases"],
        created_time=created,
        manifest=manifest,
        finished_at=now,
        verified_at=now,
        lease_expires_at=None,
        error_code="",
        error_message="",
    )
    logger.info(
        "generation finished: %s bases, %s bytes",
        manifest["bases"],
        manifest["size"],
        extra={"collection_digest": row.collection_digest},
    )
    row.refresh_from_db()
    return row


def _mark_failed(row, error, policy, now):
    retriable = bool(error.get("retriable"))
    retry_after = None
    if retriable and row.attempts < policy.max_attempts:
        delay = policy.backoff_seconds * 2 ** max(row.attempts - 1, 0)
        retry_after = now + timedelta(seconds=delay)
    history = [
        *row.error_history,
        {
            "attempt": row.attempts,
            "time": now.isoformat(),
            "code": error.get("code", ""),
            "message": error.get("message", ""),
        },
    ]
    FastaRequest.objects.filter(pk=row.pk, attempts=row.attempts).update(
        state=State.FAILED,
        finished_at=now,
        lease_expires_at=None,
        retry_after=retry_after,
        error_code=error.get("code", ""),
        error_message=error.get("message", ""),
        error_history=history,
    )
    logger.warning(
        "generation failed: %s",
        error.get("message", ""),
        extra={
            "collection_digest": row.collection_digest,
            "attempt": row.attempts,
            "will_retry": retry_after is not None,
        },
    )


def _is_current(status, row):
    """Whether a status object belongs to the row's current attempt."""
    started = _parse_time(status.get("started_time"))
    if started is None or row.dispatched_at is None:
        return False
    return started >= row.dispatched_at - CLOCK_SLACK


def _parse_time(text):
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def retry(row, dispatcher, policy=Policy(), now=None):
    """Give a failed row a fresh set of attempts and start one now."""
    now = now or timezone.now()
    FastaRequest.objects.filter(pk=row.pk, state=State.FAILED).update(
        attempts=0, retry_after=now
    )
    row.refresh_from_db()
    if row.state != State.FAILED:
        return row, False
    return start_generation(row, dispatcher, policy, now)


def forget_objects(row, outputs):
    """Delete a row's objects from the bucket; the next request regenerates."""
    outputs.delete(row.collection_digest)
    invalidate(row)
    row.refresh_from_db()
    return row


def regenerate(row, outputs, dispatcher, policy=Policy(), now=None):
    """Delete a row's objects and start a new generation at once."""
    row = forget_objects(row, outputs)
    return start_generation(row, dispatcher, policy, now)
