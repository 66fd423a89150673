"""Build a RefgetStore from FASTA files and publish it to S3.

The generator only reads stores; this module makes them, for the demo, the
tests, the benchmarks and the site's ``add_fasta`` command. Stores are built
in Raw storage mode by default: gtars' Encoded mode has decoded some valid
sequences with IUPAC codes wrongly, which the generator would then refuse
to publish.
"""

import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gtars.refget import RefgetStore, digest_fasta

from . import s3
from .errors import InvalidOptions, OutputNotWritable, VerificationFailed
from .locations import parse_location
from .stores import StoreIndex, seqdata_path

logger = logging.getLogger(__name__)

_UPLOAD_WORKERS = 8


def import_fasta(store_path, fasta_path, *, encoded=False, collection_alias=None):
    """Add one FASTA file to the store at ``store_path``; return its digest.

    Args:
        store_path: Store directory, created when missing.
        fasta_path: FASTA file (plain or gzip-compressed).
        encoded: Use gtars' 2-bit Encoded mode for a new store.
        collection_alias: ``"namespace:name"`` to register for the collection.

    Raises:
        VerificationFailed: The store's digest differs from the file's.
    """
    store = RefgetStore.on_disk(str(store_path))
    store.set_quiet(True)
    if not encoded and len(store) == 0:
        store.disable_encoding()
    metadata, _ = store.add_sequence_collection_from_fasta(
        str(fasta_path), collection_alias=collection_alias
    )
    expected = digest_fasta(str(fasta_path)).digest
    if metadata.digest != expected:
        raise VerificationFailed(
            f"The store recorded {fasta_path} as {metadata.digest}, but the file's "
            f"digest is {expected}."
        )
    return metadata.digest


@dataclass(frozen=True)
class Added:
    """One FASTA file added to a store."""

    path: Path
    collection_digest: str
    sequences: int
    bases: int


def add_fasta_files(
    store, fasta_paths, *, alias=None, endpoint_url=None, s3_client=None
):
    """Add FASTA files to a store, verify them, and publish the store.

    Each file is imported (its digest checked against the file's own), then
    generated back through the generator, whose verifier recomputes every
    sequence's digest from the decoded bases: what comes back is what went
    in. For an ``s3://`` store the work happens in a temporary copy holding
    the store's indexes (and the sequence files verification reads), and
    only the files the import wrote are uploaded, ``rgstore.json`` last.
    Run one at a time per store: two concurrent runs would each publish
    indexes that lack the other's collection.

    Yields:
        An `Added` for each file, as it is done.

    Raises:
        InvalidOptions: An alias was given for more than one file.
        VerificationFailed: A file did not come back as it went in.
        StoreUnavailable, OutputNotWritable: S3 could not be read or written.
    """
    from .pipeline import generate_fasta

    if alias and len(fasta_paths) != 1:
        raise InvalidOptions(
            "--alias names one collection: give one FASTA file with it."
        )
    location = parse_location(store)
    with tempfile.TemporaryDirectory(prefix="add-fasta-") as scratch:
        scratch = Path(scratch)
        remote = None
        if location.kind == "s3":
            client = s3_client or s3.make_client(endpoint_url)
            remote = StoreIndex(location, cache_dir=scratch / "copy", s3_client=client)
            if remote.exists():
                remote.refresh()
            working = remote.local_path
        elif location.kind == "local":
            working = location.path
        else:
            raise InvalidOptions("add_fasta writes to a directory or an s3:// store.")

        started = time.time() - 1
        fetched = set()
        for path in map(Path, fasta_paths):
            digest = import_fasta(working, path, collection_alias=alias)
            entries = StoreIndex(working).collection(digest)
            if remote is not None and remote.manifest is not None:
                fetched.update(_fetch_all(remote, entries))
            generate_fasta(working, digest, scratch / "verify")
            yield Added(path, digest, len(entries), sum(e.length for e in entries))

        if remote is not None:
            written = [
                p
                for p in working.rglob("*")
                if p.is_file() and p.stat().st_mtime >= started and p not in fetched
            ]
            _upload(written, working, location, client)


def _fetch_all(remote, entries):
    """Fetch the sequence files the local copy lacks; return their paths."""
    fetches, pool = remote.fetch_sequences(entries)
    try:
        for future in fetches.values():
            future.result()
    finally:
        if pool is not None:
            pool.shutdown()
    return {remote.local_path / seqdata_path(remote.manifest, d) for d in fetches}


def publish_store(store_path, destination, *, endpoint_url=None, s3_client=None):
    """Upload a store directory to ``s3://bucket/prefix/``; return bytes sent.

    ``rgstore.json`` goes last, so a reader that sees a new manifest finds
    every file it lists already there.
    """
    location = parse_location(destination)
    client = s3_client or s3.make_client(endpoint_url)
    root = Path(store_path)
    files = [path for path in root.rglob("*") if path.is_file()]
    sent = _upload(files, root, location, client)
    logger.info(
        "store published", extra={"store": str(root), "destination": destination}
    )
    return sent


def _upload(files, root, location, client):
    """Upload ``files`` under ``root`` to the location, the manifest last."""
    manifest = root / "rgstore.json"
    rest = [path for path in files if path != manifest]

    def upload(path):
        key = location.key(path.relative_to(root).as_posix())
        try:
            client.upload_file(str(path), location.bucket, key)
        except s3.TRANSPORT_ERRORS as exc:
            raise OutputNotWritable(
                f"Cannot upload {path} to s3://{location.bucket}/{key}: "
                f"{s3.error_code(exc)}. Check the bucket and the credentials."
            ) from exc
        return path.stat().st_size

    with ThreadPoolExecutor(max_workers=_UPLOAD_WORKERS) as pool:
        sent = sum(pool.map(upload, rest))
    if manifest in files:
        sent += upload(manifest)
    return sent
