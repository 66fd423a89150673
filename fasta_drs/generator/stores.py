"""Open a RefgetStore wherever it lives and read what one collection needs.

gtars reads a store from a local directory, or over plain HTTP(S) with
unsigned requests. A private S3 bucket therefore cannot be handed to gtars:
this module copies the files a collection needs (the store's index files,
the collection's ``.rgsi`` and the ``.seq`` files of its sequences) from S3
through boto3 into a local cache directory, in parallel, and opens that
copy. The cache is reused while the store's ``rgstore.json`` stays the same;
when it changes, the index files are fetched again. Sequence files are named
by their digest, so a cached one is never stale.

``https://`` stores are read by gtars' own ``open_remote``, which keeps its
cache in the same layout; this module only checks that cache for staleness
the same way.

Every cached file is written under a temporary name and renamed into place,
so a reader never sees half a file, even when two generations fill the same
cache at once.
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gtars.refget import RefgetStore

from . import s3
from .errors import CollectionNotFound, InvalidOptions, StoreUnavailable
from .locations import Location, parse_location

logger = logging.getLogger(__name__)

STORE_MANIFEST = "rgstore.json"
# Whole-store indexes that ``open_local`` reads before anything else.
STORE_INDEXES = ("sequences.rgsi", "collections.rgci")
DEFAULT_COLLECTIONS_TEMPLATE = "collections/%s.rgsi"
DEFAULT_SEQDATA_TEMPLATE = "sequences/%s2/%s.seq"

# Parallel downloads into the cache; S3 serves many GETs at once well.
_FETCH_WORKERS = 8
_FETCH_CHUNK = 1024 * 1024
# A store opened over https is reopened after loading this many bases, so
# the bases gtars keeps in memory while it caches them stay bounded.
_REMOTE_REOPEN_BASES = 256 * 1024 * 1024
_HTTP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SequenceEntry:
    """One sequence of a collection, as the store records it."""

    name: str
    description: str | None
    length: int
    sha512t24u: str


class PreparedStore:
    """A collection whose files are, or are becoming, readable locally.

    Sequence files of a remote store may still be downloading when this is
    returned, in collection order; `wait_for` blocks until the files of
    the given sequences are in ``local_path``, so the export can start with
    the first chromosome while the rest arrive. Call `close` when done.
    """

    def __init__(
        self,
        *,
        location,
        local_path,
        collection_digest,
        sequences,
        storage_mode,
        fetched_bytes=0,
        fetches=None,
        pool=None,
    ):
        self.location = location
        self.local_path = local_path
        self.collection_digest = collection_digest
        self.sequences = sequences
        self.storage_mode = storage_mode
        self._fetched_bytes = fetched_bytes
        self._fetches = fetches or {}
        self._pool = pool

    def wait_for(self, entries):
        """Block until the files of ``entries`` are in the local directory.

        Raises:
            StoreUnavailable: A file could not be fetched.
        """
        for entry in entries:
            fetch = self._fetches.get(entry.sha512t24u)
            if fetch is not None:
                fetch.result()

    @property
    def fetched_bytes(self):
        """Bytes downloaded into the cache for this collection."""
        self.wait_for(self.sequences)
        return self._fetched_bytes + sum(f.result() for f in self._fetches.values())

    def close(self):
        """Stop downloads still queued (after a failure)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def default_cache_dir():
    """Return the cache directory used when the caller names none."""
    configured = os.environ.get("FASTA_DRS_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fasta-drs" / "stores"


def cache_path_for(location, cache_dir, endpoint_url=None):
    """Return the cache directory of one remote store."""
    identity = f"{endpoint_url or os.environ.get('AWS_ENDPOINT_URL', '')}|{location}"
    name = hashlib.sha256(identity.encode()).hexdigest()[:24]
    return Path(cache_dir or default_cache_dir()) / name


def prepare_store(
    store,
    collection_digest,
    *,
    names=None,
    cache_dir=None,
    endpoint_url=None,
    s3_client=None,
):
    """Make every file the collection needs readable from a local directory.

    Args:
        store: A directory, an ``https://`` URL or ``s3://bucket/prefix/``.
        collection_digest: The seqcol digest of the collection to read.
        names: Sequence names to read, in output order; all when None.
        cache_dir: Where remote stores are cached (see `default_cache_dir`).
        endpoint_url: S3 endpoint, for S3-compatible servers.
        s3_client: A boto3 S3 client to use instead of making one.

    Returns:
        A `PreparedStore` whose ``sequences`` follow ``names`` (or the
        collection's order).

    Raises:
        CollectionNotFound: The store has no such collection, or the
            collection has no sequence of a requested name.
        StoreUnavailable: The store cannot be reached or read.
    """
    location = store if isinstance(store, Location) else parse_location(store)
    if location.kind in ("local", "s3"):
        index = StoreIndex(
            location,
            cache_dir=cache_dir,
            endpoint_url=endpoint_url,
            s3_client=s3_client,
        )
        return _prepare_indexed(index, collection_digest, names)
    cache = cache_path_for(location, cache_dir)
    return _prepare_http(location, cache, collection_digest, names)


def open_local_store(path):
    """Open a store directory with gtars, translating its errors."""
    try:
        store = RefgetStore.open_local(str(path))
    except OSError as exc:
        raise StoreUnavailable(
            f"Cannot read the RefgetStore at {path}: {exc}. Check that the "
            f"directory holds a store ({STORE_MANIFEST} and its indexes)."
        ) from exc
    store.set_quiet(True)
    return store


def read_collection(store, collection_digest, names=None):
    """Return the `SequenceEntry` list of a collection in an open store.

    Raises:
        CollectionNotFound: No such collection, or no sequence of a name.
    """
    if store.get_collection_metadata(collection_digest) is None:
        raise CollectionNotFound(
            f"The store has no collection {collection_digest!r}. Check the "
            "digest (a 32-character seqcol digest) and the store location."
        )
    try:
        store.load_collection(collection_digest)
        collection = store.get_collection(collection_digest)
    except OSError as exc:
        raise StoreUnavailable(
            f"Collection {collection_digest} is listed but cannot be read: {exc}. "
            "The store may be incomplete; publish it again."
        ) from exc

    entries = [
        SequenceEntry(
            name=record.metadata.name,
            description=record.metadata.description or None,
            length=record.metadata.length,
            sha512t24u=record.metadata.sha512t24u,
        )
        for record in collection.sequences
    ]
    return _select(entries, collection_digest, names)


def alias_paths(manifest):
    """Return the store's alias files, which ``open_local`` reads too."""
    return [
        f"aliases/{kind}/{namespace}.tsv"
        for kind, key in (
            ("collections", "collection_alias_namespaces"),
            ("sequences", "sequence_alias_namespaces"),
        )
        for namespace in manifest.get(key, [])
    ]


def seqdata_path(manifest, sequence_digest):
    """Return a sequence file's path inside the store, from its template."""
    template = manifest.get("seqdata_path_template", DEFAULT_SEQDATA_TEMPLATE)
    return _expand(template, sequence_digest)


def collection_path(manifest, collection_digest):
    """Return a collection file's path inside the store, from its template."""
    template = manifest.get("collections_path_template", DEFAULT_COLLECTIONS_TEMPLATE)
    return _expand(template, collection_digest)


def _expand(template, digest):
    # The store's templates use %s2 for the digest's first two characters.
    return template.replace("%s2", digest[:2]).replace("%s", digest)


def _select(entries, collection_digest, names):
    if names is None:
        return tuple(entries)
    if len(set(names)) != len(names):
        raise InvalidOptions("A sequence name is given twice in --names.")
    by_name = {entry.name: entry for entry in entries}
    missing = [name for name in names if name not in by_name]
    if missing:
        known = ", ".join(list(by_name)[:10])
        raise CollectionNotFound(
            f"Collection {collection_digest} has no sequence named "
            f"{', '.join(map(repr, missing))}; its names include: {known}."
        )
    return tuple(by_name[name] for name in names)


def _read_manifest(path):
    try:
        return json.loads((path / STORE_MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise StoreUnavailable(
            f"Cannot read {path / STORE_MANIFEST}: {exc}. Check that the "
            "location holds a RefgetStore."
        ) from exc


class StoreIndex:
    """What a store holds, from its index files kept current in a directory.

    Answers which collections exist, their sequences and their aliases,
    without any sequence data. For an S3 store the index files live in the
    cache and `refresh` fetches them again when ``rgstore.json`` changed;
    collection files are fetched on first use. Not thread-safe: callers
    that share one serialise their calls.
    """

    def __init__(self, store, *, cache_dir=None, endpoint_url=None, s3_client=None):
        self.location = store if isinstance(store, Location) else parse_location(store)
        if self.location.kind == "s3":
            client = s3_client or s3.make_client(endpoint_url)
            self._source = _S3Source(self.location, client)
            self.local_path = cache_path_for(self.location, cache_dir, endpoint_url)
        elif self.location.kind == "local":
            self._source = None
            self.local_path = self.location.path
        else:
            raise InvalidOptions(
                f"{self.location} is an https store; the index reads directories "
                "and s3:// stores."
            )
        self.manifest = None
        self.fetched_bytes = 0
        self._store = None
        self._version = None

    def refresh(self):
        """Bring the indexes up to date; return whether the store changed."""
        if self._source is None:
            version = (
                (self.local_path / STORE_MANIFEST).read_bytes()
                if (self.local_path / STORE_MANIFEST).exists()
                else None
            )
            self.manifest = _read_manifest(self.local_path)
        else:
            self.manifest, fetched = _sync_indexes(self._source, self.local_path)
            self.fetched_bytes += fetched
            version = json.dumps(self.manifest, sort_keys=True).encode()
        changed = version != self._version
        if changed or self._store is None:
            self._store = open_local_store(self.local_path)
            self._version = version
        return changed

    def exists(self):
        """Whether the store has its ``rgstore.json`` (it may be new)."""
        if self._source is None:
            return (self.local_path / STORE_MANIFEST).exists()
        return self._source.exists(STORE_MANIFEST)

    @property
    def store(self):
        """The gtars store over the local index files."""
        if self._store is None:
            self.refresh()
        return self._store

    def has_collection(self, collection_digest):
        """Whether the store lists ``collection_digest``."""
        return self.store.get_collection_metadata(collection_digest) is not None

    def collection(self, collection_digest, names=None):
        """Return the collection's `SequenceEntry` list.

        Raises:
            CollectionNotFound: No such collection or sequence name.
            StoreUnavailable: Its files cannot be fetched or read.
        """
        if not self.has_collection(collection_digest):
            read_collection(self.store, collection_digest)  # raises CollectionNotFound
        if self._source is not None:
            relative = collection_path(self.manifest, collection_digest)
            if not (self.local_path / relative).exists():
                # gtars reads a collection's file when it is first loaded,
                # so the open store finds it without being opened again
                # (which would read the whole-store indexes once more).
                self.fetched_bytes += _fetch_missing(
                    self._source, self.local_path, [relative]
                )
        return read_collection(self.store, collection_digest, names)

    def collection_metadata(self):
        """Return gtars' metadata of every collection the store lists:
        digest, sequence count and the digest of each attribute."""
        found, page = [], 0
        while True:
            listing = self.store.list_collections(page=page, page_size=1000)
            found.extend(listing["results"])
            if len(found) >= listing["pagination"]["total"] or not listing["results"]:
                return found
            page += 1

    def collection_digests(self):
        """Return the digest of every collection the store lists."""
        return [metadata.digest for metadata in self.collection_metadata()]

    def aliases(self, collection_digest):
        """Return the collection's aliases as ``(namespace, alias)`` pairs."""
        return list(self.store.get_aliases_for_collection(collection_digest))

    def fetch_sequences(self, sequences):
        """Start fetching the sequences' files; return ``{digest: future}``."""
        if self._source is None:
            return {}, None
        pool = ThreadPoolExecutor(
            max_workers=_FETCH_WORKERS, thread_name_prefix="fetch"
        )
        fetches = {}
        for entry in sequences:
            relative = seqdata_path(self.manifest, entry.sha512t24u)
            target = self.local_path / relative
            if entry.sha512t24u not in fetches and not target.exists():
                fetches[entry.sha512t24u] = pool.submit(
                    self._source.fetch, relative, target
                )
        return fetches, pool


def _prepare_indexed(index, collection_digest, names):
    """Read the collection through ``index``, fetching what it lacks.

    A directory needs nothing fetched; for S3 the indexes are brought up to
    date in the cache and the sequence files start downloading.
    """
    index.refresh()
    sequences = index.collection(collection_digest, names)

    # Sequence files download in the background, in output order.
    fetches, pool = index.fetch_sequences(sequences)
    logger.info(
        "store indexes ready; fetching sequences",
        extra={
            "store": str(index.location),
            "cache": str(index.local_path),
            "files": len(fetches),
        },
    )
    return PreparedStore(
        location=index.location,
        local_path=index.local_path,
        collection_digest=collection_digest,
        sequences=sequences,
        storage_mode=index.manifest.get("mode", "Encoded"),
        fetched_bytes=index.fetched_bytes,
        fetches=fetches,
        pool=pool,
    )


def _sync_indexes(source, cache):
    """Make the cached index files those of the store as it is now.

    Returns the store manifest and the number of bytes fetched.
    """
    cache.mkdir(parents=True, exist_ok=True)
    current = source.read(STORE_MANIFEST)
    cached_path = cache / STORE_MANIFEST
    if cached_path.exists() and cached_path.read_bytes() == current:
        if all((cache / name).exists() for name in STORE_INDEXES):
            return json.loads(current), len(current)

    # The store changed (or was never cached): drop what depends on it.
    collections_dir = cache / "collections"
    if collections_dir.exists():
        shutil.rmtree(collections_dir, ignore_errors=True)
    fetched = len(current)
    manifest = json.loads(current)
    for name in (*STORE_INDEXES, *alias_paths(manifest)):
        fetched += source.fetch(name, cache / name)
    _write_atomically(cached_path, current)
    logger.info("store indexes refreshed", extra={"store": str(source.location)})
    return json.loads(current), fetched


def _fetch_missing(source, cache, relative_paths):
    """Fetch the files not yet in the cache, in parallel; return bytes."""
    wanted = sorted({path for path in relative_paths if not (cache / path).exists()})
    if not wanted:
        return 0
    with ThreadPoolExecutor(max_workers=_FETCH_WORKERS) as pool:
        sizes = pool.map(lambda path: source.fetch(path, cache / path), wanted)
        return sum(sizes)


def _write_atomically(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class _S3Source:
    """Reads store files from S3 with signed requests."""

    def __init__(self, location, client):
        self.location = location
        self.client = client

    def read(self, relative):
        """Return the bytes of one store file."""
        key = self.location.key(relative)
        try:
            response = self.client.get_object(Bucket=self.location.bucket, Key=key)
            return response["Body"].read()
        except s3.TRANSPORT_ERRORS as exc:
            raise self._unavailable(relative, exc) from exc

    def exists(self, relative):
        """Whether one store file exists."""
        try:
            self.client.head_object(
                Bucket=self.location.bucket, Key=self.location.key(relative)
            )
        except s3.TRANSPORT_ERRORS as exc:
            if s3.is_missing(exc):
                return False
            raise self._unavailable(relative, exc) from exc
        return True

    def fetch(self, relative, destination):
        """Download one store file to ``destination``; return its size."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}."
        )
        try:
            # A plain streamed GET: download_file would build a transfer
            # manager with threads of its own for every file, and these
            # fetches already run in parallel.
            with os.fdopen(fd, "wb") as handle:
                reply = self.client.get_object(
                    Bucket=self.location.bucket, Key=self.location.key(relative)
                )
                for chunk in reply["Body"].iter_chunks(_FETCH_CHUNK):
                    handle.write(chunk)
            os.replace(temporary, destination)
        except s3.TRANSPORT_ERRORS as exc:
            raise self._unavailable(relative, exc) from exc
        finally:
            Path(temporary).unlink(missing_ok=True)
        return destination.stat().st_size

    def _unavailable(self, relative, exc):
        where = f"s3://{self.location.bucket}/{self.location.key(relative)}"
        if s3.is_missing(exc):
            if relative == STORE_MANIFEST:
                advice = "Check the store URL, or publish the store there."
            else:
                advice = "The store is incomplete; publish it again."
            return StoreUnavailable(f"{where} does not exist. {advice}")
        if s3.is_denied(exc):
            return StoreUnavailable(
                f"Access to {where} was denied ({s3.error_code(exc)}). Check the "
                "credentials and that they may read the store prefix."
            )
        return StoreUnavailable(
            f"Could not read {where}: {exc}. Check the S3 endpoint "
            "(AWS_ENDPOINT_URL) and the network, then retry."
        )


class _HttpReader:
    """Reads single store files over HTTP, for the staleness check only."""

    def __init__(self, location):
        self.location = location

    def read(self, relative):
        url = f"{self.location.url}/{relative}"
        try:
            with urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT_SECONDS) as reply:
                return reply.read()
        except (urllib.error.URLError, OSError) as exc:
            raise StoreUnavailable(
                f"Could not read {url}: {exc}. Check the store URL and that the "
                "server is up, then retry."
            ) from exc


# One lock per https cache: gtars writes into it while it loads.
_http_cache_locks = {}
_http_cache_locks_guard = threading.Lock()


def _prepare_http(location, cache, collection_digest, names):
    """Read an https store through gtars, checking its cache is current."""
    with _http_cache_locks_guard:
        lock = _http_cache_locks.setdefault(str(cache), threading.Lock())
    with lock:
        reader = _HttpReader(location)
        current = reader.read(STORE_MANIFEST)
        cached_path = cache / STORE_MANIFEST
        if cached_path.exists() and cached_path.read_bytes() != current:
            # gtars would trust its stale copy of the indexes; drop them.
            for name in (*STORE_INDEXES, STORE_MANIFEST):
                (cache / name).unlink(missing_ok=True)
            shutil.rmtree(cache / "collections", ignore_errors=True)
        manifest = json.loads(current)

        store = _open_remote(location, cache)
        sequences = read_collection(store, collection_digest, names)
        fetched = _load_remote_sequences(location, cache, collection_digest, sequences)
    return PreparedStore(
        location=location,
        local_path=cache,
        collection_digest=collection_digest,
        sequences=sequences,
        storage_mode=manifest.get("mode", "Encoded"),
        fetched_bytes=fetched,
    )


def _open_remote(location, cache):
    cache.mkdir(parents=True, exist_ok=True)
    try:
        store = RefgetStore.open_remote(str(cache), location.url)
    except OSError as exc:
        raise StoreUnavailable(
            f"Cannot open the RefgetStore at {location.url}: {exc}. Check the "
            "URL and that the server honours Range requests, then retry."
        ) from exc
    store.set_quiet(True)
    return store


def _load_remote_sequences(location, cache, collection_digest, sequences):
    """Have gtars download the collection's sequence files into the cache."""
    manifest = _read_manifest(cache)
    pending = [
        entry
        for entry in sequences
        if not (cache / seqdata_path(manifest, entry.sha512t24u)).exists()
    ]
    fetched = 0
    store = None
    loaded_since_open = 0
    for entry in pending:
        if store is None or loaded_since_open > _REMOTE_REOPEN_BASES:
            store = _open_remote(location, cache)
            store.load_collection(collection_digest)
            loaded_since_open = 0
        try:
            store.load_sequence(entry.sha512t24u)
        except OSError as exc:
            raise StoreUnavailable(
                f"Could not fetch sequence {entry.name!r} ({entry.sha512t24u}) "
                f"from {location.url}: {exc}. Retry later."
            ) from exc
        loaded_since_open += entry.length
        path = cache / seqdata_path(manifest, entry.sha512t24u)
        fetched += path.stat().st_size if path.exists() else 0
    return fetched
