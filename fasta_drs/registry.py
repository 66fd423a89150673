"""Reads of the RefgetStore that the DRS API needs: does a collection exist,
and what are its names, lengths and aliases.

It goes through the generator's `StoreIndex`, so the site and the
generator read the store the same way. The store's ``rgstore.json`` is
checked again at most every `CHECK_SECONDS`; when it changed, what was
remembered about collections is dropped. One process-wide `Registry`
serves every request, its gtars calls serialised by a lock.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .generator import CollectionNotFound
from .generator.stores import StoreIndex

CHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Collection:
    """One collection of the store, as the DRS object describes it."""

    digest: str
    names: tuple[str, ...]
    lengths: tuple[int, ...]
    aliases: tuple[str, ...]

    @property
    def bases(self):
        return sum(self.lengths)


class Registry:
    """The store's collections, refreshed when the store changes."""

    def __init__(self, store, *, cache_dir=None, check_seconds=CHECK_SECONDS):
        self._index = StoreIndex(store, cache_dir=cache_dir)
        self._check_seconds = check_seconds
        self._checked = None
        self._collections = {}
        self._lock = threading.Lock()

    def collection(self, digest):
        """Return the `Collection` of ``digest``, or None if there is none.

        Raises:
            StoreUnavailable: The store cannot be read.
        """
        with self._lock:
            self._refresh_if_due()
            if digest not in self._collections:
                self._collections[digest] = self._read(digest)
            return self._collections[digest]

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
        self._checked = now

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
