"""Recording requests and starting generations, on PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from fasta_drs.models import FastaRequest
from fasta_drs.services import DispatchUnavailable, Policy, request_generation

DIGEST = "a" * 32


class RecordingDispatcher:
    name = "test"

    def __init__(self, refuse=False):
        self.dispatched = []
        self.refuse = refuse
        self._lock = threading.Lock()

    def dispatch(self, collection_digest):
        if self.refuse:
            raise DispatchUnavailable("throttled")
        with self._lock:
            self.dispatched.append(collection_digest)


@pytest.mark.django_db
def test_first_request_creates_the_row_and_dispatches_once():
    dispatcher = RecordingDispatcher()
    row, dispatched = request_generation(DIGEST, dispatcher)
    assert dispatched
    assert dispatcher.dispatched == [DIGEST]
    assert (row.state, row.attempts, row.request_count) == ("queued", 1, 1)
    assert row.lease_expires_at > timezone.now()


@pytest.mark.django_db
def test_second_request_while_generating_dispatches_nothing():
    dispatcher = RecordingDispatcher()
    request_generation(DIGEST, dispatcher)
    row, dispatched = request_generation(DIGEST, dispatcher)
    assert not dispatched
    assert dispatcher.dispatched == [DIGEST]
    assert row.request_count == 2


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_first_requests_dispatch_exactly_one_generation():
    dispatcher = RecordingDispatcher()
    start = threading.Barrier(50)
    errors = []

    def ask():
        try:
            start.wait()
            request_generation(DIGEST, dispatcher)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert dispatcher.dispatched == [DIGEST]
    row = FastaRequest.objects.get(collection_digest=DIGEST)
    assert (row.request_count, row.attempts) == (50, 1)


@pytest.mark.django_db
def test_refused_dispatch_leaves_the_row_as_it_was():
    with pytest.raises(DispatchUnavailable):
        request_generation(DIGEST, RecordingDispatcher(refuse=True))
    row = FastaRequest.objects.get(collection_digest=DIGEST)
    assert (row.state, row.attempts) == ("queued", 0)

    # The next request may try again.
    dispatcher = RecordingDispatcher()
    request_generation(DIGEST, dispatcher)
    assert dispatcher.dispatched == [DIGEST]


@pytest.mark.django_db
def test_expired_lease_is_retried_and_ready_rows_never_are():
    dispatcher = RecordingDispatcher()
    row, _ = request_generation(DIGEST, dispatcher)
    later = row.lease_expires_at + timedelta(seconds=1)
    row, dispatched = request_generation(DIGEST, dispatcher, now=later)
    assert dispatched
    assert row.attempts == 2

    FastaRequest.objects.filter(pk=row.pk).update(state="ready")
    row, dispatched = request_generation(
        DIGEST, dispatcher, now=later + timedelta(days=9)
    )
    assert not dispatched
    assert len(dispatcher.dispatched) == 2


@pytest.mark.django_db
def test_failures_retry_after_their_backoff_until_attempts_run_out():
    dispatcher = RecordingDispatcher()
    policy = Policy(max_attempts=2)
    row, _ = request_generation(DIGEST, dispatcher, policy)
    now = timezone.now()
    FastaRequest.objects.filter(pk=row.pk).update(
        state="failed", retry_after=now + timedelta(seconds=30)
    )
    _, dispatched = request_generation(DIGEST, dispatcher, policy, now=now)
    assert not dispatched  # backoff not over

    row, dispatched = request_generation(
        DIGEST, dispatcher, policy, now=now + timedelta(seconds=31)
    )
    assert dispatched and row.attempts == 2

    FastaRequest.objects.filter(pk=row.pk).update(
        state="failed", retry_after=now + timedelta(seconds=40)
    )
    _, dispatched = request_generation(
        DIGEST, dispatcher, policy, now=now + timedelta(hours=1)
    )
    assert not dispatched  # no attempts left: an operator must retry


class FakeOutputs:
    """The two objects learn_state reads, as a generation would write them."""

    def __init__(self, status=None, manifest=None):
        self._status = status
        self._manifest = manifest

    def status(self, digest):
        return self._status

    def manifest(self, digest):
        return self._manifest


@pytest.mark.django_db
def test_a_generation_that_stops_reporting_is_retried_after_its_lease():
    dispatcher = RecordingDispatcher()
    policy = Policy(lease_seconds=60)
    row, _ = request_generation(DIGEST, dispatcher, policy)
    now = timezone.now()
    last_report = now + timedelta(seconds=5)
    status = {
        "state": "running",
        "started_time": (now + timedelta(seconds=1)).isoformat(),
        "updated_time": last_report.isoformat(),
        "progress": {"fraction": 0.4},
    }
    from fasta_drs.services import learn_state

    # Read again and again long after, the same stale report extends nothing.
    for minutes in (1, 2, 3):
        row = learn_state(
            row, FakeOutputs(status), policy, now=now + timedelta(minutes=minutes)
        )
    assert row.state == "running" and row.progress == 0.4
    assert row.lease_expires_at == last_report + timedelta(seconds=60)
    _, dispatched = request_generation(
        DIGEST, dispatcher, policy, now=now + timedelta(minutes=3)
    )
    assert dispatched
    assert len(dispatcher.dispatched) == 2
