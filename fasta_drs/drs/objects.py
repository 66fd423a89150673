"""What a DRS object id names, and the state of the object behind it.

Ids are strict: ``{digest}`` is the BGZF FASTA of a collection, and
``{digest}.fai`` and ``{digest}.gzi`` are its indexes, made by the same
generation. Anything else is refused before it reaches the database or S3.
"""

import math
import re
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from fasta_drs import services
from fasta_drs.dispatch import get_dispatcher
from fasta_drs.generator import StoreUnavailable
from fasta_drs.models import FastaRequest
from fasta_drs.outputs import KINDS, get_outputs
from fasta_drs.registry import get_registry

from .exceptions import BadRequest, GenerationFailed, NotFound, ServiceUnavailable

State = FastaRequest.State
_OBJECT_ID = re.compile(r"^(?P<digest>[A-Za-z0-9_-]{32})(?P<suffix>\.fai|\.gzi)?$")
_PLAUSIBLE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ACCESS_ID = "s3"

# Retry-After bounds, in seconds: clients should neither spin nor sleep
# through a generation that is nearly done.
MIN_RETRY_AFTER = 1
MAX_RETRY_AFTER = 60
# Used until a generation has finished on this site.
DEFAULT_THROUGHPUT_MB = 50.0
_THROUGHPUT_CACHE_SECONDS = 30.0
_throughput_cache = (0.0, DEFAULT_THROUGHPUT_MB)


@dataclass(frozen=True)
class ObjectId:
    digest: str
    kind: str  # "fasta", "fai" or "gzi"
    text: str


@dataclass
class Lookup:
    """The state of one object: its row, or how long until it is ready."""

    object_id: ObjectId
    collection: object
    row: FastaRequest
    retry_after: int | None = None

    @property
    def ready(self):
        return self.row.state == State.READY


def parse_object_id(text):
    """Return the `ObjectId` that ``text`` names.

    Raises:
        BadRequest: The text cannot be a DRS object id of this service.
        NotFound: It is well formed but names no kind of object served here.
    """
    match = _OBJECT_ID.match(text or "")
    if match:
        return ObjectId(match["digest"], KINDS[match["suffix"] or ""], text)
    if _PLAUSIBLE.match(text or ""):
        raise NotFound(
            f"No DRS object {text!r}: ids are DIGEST, DIGEST.fai or DIGEST.gzi."
        )
    raise BadRequest("Malformed object id: ids are DIGEST, DIGEST.fai or DIGEST.gzi.")


class _ReadyCache:
    """Ready rows this process served in the last `SECONDS`, and the
    requests for them not yet added to the database's counts.

    A ready object is then served with no database write per request:
    counts are added once per interval. An object invalidated elsewhere is
    served from here for at most `SECONDS` more.
    """

    SECONDS = 5.0

    def __init__(self):
        self._entries = {}
        self._counts = {}
        self._flushed = time.monotonic()
        self._lock = threading.Lock()

    def get(self, digest):
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or time.monotonic() - entry[0] > self.SECONDS:
                return None
            self._counts[digest] = self._counts.get(digest, 0) + 1
            return entry[1], entry[2]

    def put(self, digest, row, collection):
        with self._lock:
            self._entries[digest] = (time.monotonic(), row, collection)

    def flush_if_due(self):
        """Add the counted requests to the database, once per interval."""
        with self._lock:
            if time.monotonic() - self._flushed < self.SECONDS or not self._counts:
                return
            counts, self._counts = self._counts, {}
            self._flushed = time.monotonic()
        now = timezone.now()
        for digest, count in counts.items():
            FastaRequest.objects.filter(collection_digest=digest).update(
                request_count=F("request_count") + count, last_requested_at=now
            )

    def forget(self, digest):
        """Forget one digest's entry."""
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self):
        """Forget every entry and the counts not yet written."""
        with self._lock:
            self._entries.clear()
            self._counts.clear()
            self._flushed = time.monotonic()


_ready = _ReadyCache()


def forget_ready(digest=None):
    """Drop remembered ready rows (all, or one digest's) in this process."""
    if digest is None:
        _ready.clear()
    else:
        _ready.forget(digest)


@receiver(setting_changed)
def _forget_on_settings_change(setting, **kwargs):
    if setting == "FASTA_DRS":
        _ready.clear()


def look_up(object_id):
    """Record a request for the object and return its `Lookup`.

    Unknown digests are refused here, before any row or dispatch. A known
    digest gets at most one generation, however many ask at once. A ready
    object this process served in the last seconds is served again from
    memory.

    Raises:
        NotFound: The registry has no such collection.
        GenerationFailed: The last attempt failed and none is left.
        ServiceUnavailable: The store or the generation backend is down.
    """
    _ready.flush_if_due()
    remembered = _ready.get(object_id.digest)
    if remembered is not None:
        row, collection = remembered
        return Lookup(object_id, collection, row)
    try:
        collection = get_registry().collection(object_id.digest)
    except StoreUnavailable as exc:
        raise ServiceUnavailable(f"The store cannot be read: {exc.message}") from exc
    if collection is None:
        raise NotFound(f"The registry has no collection {object_id.digest}.")

    policy = current_policy()
    outputs = get_outputs()
    try:
        row, dispatched = services.request_generation(
            object_id.digest, get_dispatcher(), policy
        )
    except services.DispatchUnavailable as exc:
        raise ServiceUnavailable(str(exc), retry_after=exc.retry_after_seconds) from exc
    if not dispatched:
        row = services.learn_state(row, outputs, policy)
        row = services.verify_ready(row, outputs)
        if row.state == State.QUEUED and row.attempts == 0:
            # The object expired and was forgotten just now: start again.
            return look_up(object_id)

    if row.state == State.FAILED and row.retry_after is None:
        raise GenerationFailed(
            f"Generating {object_id.digest} failed after {row.attempts} attempt(s): "
            f"{row.error_message or row.error_code}. An operator can retry it."
        )
    lookup = Lookup(object_id, collection, row)
    if lookup.ready:
        _ready.put(object_id.digest, row, collection)
    else:
        lookup.retry_after = estimate_retry_after(row, collection)
    return lookup


def current_policy():
    config = settings.FASTA_DRS
    return services.Policy(
        lease_seconds=config["LEASE_SECONDS"], max_attempts=config["MAX_ATTEMPTS"]
    )


def estimate_retry_after(row, collection):
    """Seconds until the object is likely ready, from its size and progress."""
    text_bytes = collection.bases * 1.0125 + 64 * len(collection.names)
    remaining = text_bytes * (1.0 - min(max(row.progress, 0.0), 1.0))
    seconds = remaining / (recent_throughput() * 1e6)
    if row.state == State.FAILED and row.retry_after:
        seconds += max((row.retry_after - timezone.now()).total_seconds(), 0.0)
    return int(min(max(math.ceil(seconds), MIN_RETRY_AFTER), MAX_RETRY_AFTER))


def recent_throughput():
    """Median MB/s of the last generations that finished here."""
    global _throughput_cache
    checked, value = _throughput_cache
    if time.monotonic() - checked < _THROUGHPUT_CACHE_SECONDS:
        return value
    figures = sorted(
        figure
        for figure in FastaRequest.objects.filter(
            Q(state=State.READY) & ~Q(manifest=None)
        )
        .order_by("-finished_at")
        .values_list("manifest__throughput_mb_per_second", flat=True)[:20]
        if isinstance(figure, int | float) and figure > 0
    )
    value = figures[len(figures) // 2] if figures else DEFAULT_THROUGHPUT_MB
    _throughput_cache = (time.monotonic(), value)
    return value
