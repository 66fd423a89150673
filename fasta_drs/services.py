"""Writes to `FastaRequest`: record a request, start at most one generation.

A request for a digest creates its row if needed, counts the request, and
starts a generation when none is under way: the row was never dispatched,
its running generation's lease expired, or it failed and its retry is due
with attempts left. Starting is a conditional ``UPDATE`` that matches the
row's state and attempt number as read, so of any number of concurrent
requests exactly one wins and dispatches; the others see the row already
queued. If the dispatcher refuses (the service is throttled or down), the
claim is undone, so the row is not left looking busy.

This module does not read S3; completion is learned elsewhere, from the
generator's manifest and status objects.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import FastaRequest

logger = logging.getLogger(__name__)

State = FastaRequest.State


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
    row.refresh_from_db()
    if not _is_due(row, policy, now):
        return row, False
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


def _is_due(row, policy, now):
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
