"""Reads of the RefgetStore that the site needs: which collections exist,
their attributes at each seqcol level, their aliases and their sequences.

It goes through the generator's `StoreIndex`, so the site and the
generator read the store the same way. The store's ``rgstore.json`` is
checked again at most every `CHECK_SECONDS`; when it changed, what was
remembered about collections is dropped. One process-wide `Registry`
serves every request, its gtars calls serialised by a lock.

Lookups stay flat as the store grows: the level-1 digests of every
collection come from the store's collection index in one pass and are
kept in dictionaries (`Catalog`), and a collection's own file is read
only when its arrays are asked for, then remembered (a bounded number).
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .generator import CollectionNotFound
from .generator.stores import StoreIndex

CHECK_SECONDS = 30.0
# Collections whose arrays are kept in memory, most recently used first.
REMEMBERED_COLLECTIONS = 512

# The level-1 attributes the store records for every collection, in the
# order the seqcol schema lists them.
ATTRIBUTES = (
    "names",
    "lengths",
    "sequences",
    "name_length_pairs",
    "sorted_name_length_pairs",
    "sorted_sequences",
)


@dataclass(frozen=True)
class Collection:
    """One collection of the store: its arrays (level 2) and aliases."""

    digest: str
    names: tuple[str, ...]
    lengths: tuple[int, ...]
    aliases: tuple[str, ...]
    # The sequences' sha512t24u digests, without the ``SQ.`` prefix.
    sequences: tuple[str, ...] = ()

    @property
    def bases(self):
        return sum(self.lengths)


@dataclass(frozen=True)
class Sequence:
    """One sequence of the store, as the refget sequences API describes it."""

    sha512t24u: str
    md5: str
    length: int
    aliases: tuple[tuple[str, str], ...]


class Catalog:
    """The level-1 digests of every collection of the store, indexed.

    Built once per version of the store, in one pass over its collection
    index; each question is then a dictionary lookup.
    """

    def __init__(self, level1_records):
        self.level1 = {}
        self.by_attribute = {name: {} for name in ATTRIBUTES}
        for record in level1_records:
            self.level1[record["digest"]] = record
            for name in ATTRIBUTES:
                holders = self.by_attribute[name].setdefault(record[name], [])
                holders.append(record["digest"])
        self.digests = sorted(self.level1)
        self.attribute_values = {
            name: sorted(values) for name, values in self.by_attribute.items()
        }

    def __len__(self):
        return len(self.digests)

    def matching(self, filters):
        """Return the sorted digests whose attributes have every digest of
        ``filters`` (``{attribute: digest}``, all of them must match)."""
        if not filters:
            return self.digests
        chosen = None
        for name, value in filters.items():
            holders = set(self.by_attribute[name].get(value, ()))
            chosen = holders if chosen is None else chosen & holders
            if not chosen:
                return []
        return sorted(chosen)


class Registry:
    """The store's collections, refreshed when the store changes."""

    def __init__(self, store, *, cache_dir=None, check_seconds=CHECK_SECONDS):
        self._index = StoreIndex(store, cache_dir=cache_dir)
        self._check_seconds = check_seconds
        self._checked = None
        self._collections = OrderedDict()
        self._catalog = None
        self._md5s = None
        self._lock = threading.Lock()

    def collection(self, digest):
        """Return the `Collection` of ``digest``, or None if there is none.

        Raises:
            StoreUnavailable: The store cannot be read.
        """
        with self._lock:
            self._refresh_if_due()
            if digest in self._collections:
                self._collections.move_to_end(digest)
                return self._collections[digest]
            collection = self._read(digest)
            self._collections[digest] = collection
            if len(self._collections) > REMEMBERED_COLLECTIONS:
                self._collections.popitem(last=False)
            return collection

    def catalog(self):
        """Return the `Catalog` of the store as it is now."""
        with self._lock:
            self._refresh_if_due()
            if self._catalog is None:
                self._catalog = Catalog(self._level1_records())
            return self._catalog

    def sequence(self, digest):
        """Return the `Sequence` of a sha512t24u (``SQ.`` optional) or MD5
        digest, or None if the store has no such sequence."""
        digest = digest.removeprefix("SQ.")
        with self._lock:
            self._refresh_if_due()
            store = self._index.store
            metadata = store.get_sequence_metadata(digest)
            if metadata is None and len(digest) == 32:
                if self._md5s is None:
                    self._md5s = {
                        record.md5: record.sha512t24u
                        for record in store.list_sequences()
                    }
                known = self._md5s.get(digest.lower())
                metadata = store.get_sequence_metadata(known) if known else None
            if metadata is None:
                return None
            aliases = tuple(store.get_aliases_for_sequence(metadata.sha512t24u))
        return Sequence(
            sha512t24u=metadata.sha512t24u,
            md5=metadata.md5,
            length=metadata.length,
            aliases=aliases,
        )

    def stream_sequence(self, sequence, start, end, chunk_size=64 * 1024):
        """Return an iterator of the bases ``[start, end)`` of a `Sequence`.

        The bases are read from the sequence's file a chunk at a time, so a
        whole chromosome is never held in memory. A file of an S3 store is
        first copied into the cache, outside the lock.

        Raises:
            StoreUnavailable: The sequence's file cannot be fetched.
        """
        with self._lock:
            fetches, pool = self._index.fetch_sequences([sequence])
        try:
            for fetch in fetches.values():
                fetch.result()
        finally:
            if pool is not None:
                pool.shutdown(wait=False)
        with self._lock:
            return self._index.store.stream_sequence(
                sequence.sha512t24u, start, end, chunk_size=chunk_size
            )

    def digest_for_alias(self, text):
        """Return the digest that ``namespace:alias`` names, or None."""
        namespace, _, alias = text.partition(":")
        if not namespace or not alias:
            return None
        with self._lock:
            self._refresh_if_due()
            metadata = self._index.store.get_collection_metadata_by_alias(
                namespace, alias
            )
        return metadata.digest if metadata is not None else None

    def resolve_alias(self, kind, namespace, alias):
        """Return the digest that a ``kind`` ("collection" or "sequence")
        alias names, or None."""
        with self._lock:
            self._refresh_if_due()
            store = self._index.store
            if kind == "sequence":
                metadata = store.get_sequence_metadata_by_alias(namespace, alias)
                return metadata.sha512t24u if metadata is not None else None
            metadata = store.get_collection_metadata_by_alias(namespace, alias)
            return metadata.digest if metadata is not None else None

    def aliases_of(self, kind, digest):
        """Return the ``(namespace, alias)`` pairs naming a digest."""
        with self._lock:
            self._refresh_if_due()
            store = self._index.store
            if kind == "sequence":
                return list(store.get_aliases_for_sequence(digest.removeprefix("SQ.")))
            return list(store.get_aliases_for_collection(digest))

    def alias_namespaces(self, kind):
        """Return the alias namespaces of a ``kind``, sorted."""
        with self._lock:
            self._refresh_if_due()
            store = self._index.store
            if kind == "sequence":
                return sorted(store.list_sequence_alias_namespaces())
            return sorted(store.list_collection_alias_namespaces())

    def aliases_in(self, kind, namespace):
        """Return the aliases of one namespace, sorted; None if there is no
        such namespace."""
        if namespace not in self.alias_namespaces(kind):
            return None
        with self._lock:
            store = self._index.store
            if kind == "sequence":
                return sorted(store.list_sequence_aliases(namespace))
            return sorted(store.list_collection_aliases(namespace))

    def collection_digests(self):
        """Return the digest of every collection of the store."""
        with self._lock:
            self._refresh_if_due()
            return self._index.collection_digests()

    def refresh(self):
        """Check the store now; forget what was read if it changed."""
        with self._lock:
            self._checked = None
            self._refresh_if_due()

    def _refresh_if_due(self):
        now = time.monotonic()
        if self._checked is not None and now - self._checked < self._check_seconds:
            return
        if self._index.refresh():
            self._collections.clear()
            self._catalog = None
            self._md5s = None
        self._checked = now

    def _level1_records(self):
        return [
            {
                "digest": metadata.digest,
                **{name: getattr(metadata, f"{name}_digest") for name in ATTRIBUTES},
            }
            for metadata in self._index.collection_metadata()
        ]

    def _read(self, digest):
        if not self._index.has_collection(digest):
            return None
        try:
            entries = self._index.collection(digest)
        except CollectionNotFound:
            return None
        aliases = tuple(f"{ns}:{alias}" for ns, alias in self._index.aliases(digest))
        return Collection(
            digest=digest,
            names=tuple(entry.name for entry in entries),
            lengths=tuple(entry.length for entry in entries),
            aliases=aliases,
            sequences=tuple(entry.sha512t24u for entry in entries),
        )


_registry = None
_registry_lock = threading.Lock()


def get_registry():
    """Return the process-wide `Registry` for the configured store."""
    global _registry
    with _registry_lock:
        if _registry is None:
            config = settings.FASTA_DRS
            _registry = Registry(config["STORE"], cache_dir=config["CACHE_DIR"])
        return _registry


@receiver(setting_changed)
def _forget_registry(setting, **kwargs):
    global _registry
    if setting == "FASTA_DRS":
        with _registry_lock:
            _registry = None
