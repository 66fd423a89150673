"""Build a RefgetStore from FASTA files and publish it to S3.

The generator only reads stores; this module makes them, for the demo, the
tests, the benchmarks and the site's ``add_fasta`` command. Stores are built
in Raw storage mode by default: gtars' Encoded mode has decoded some valid
sequences with IUPAC codes wrongly, which the generator would then refuse
to publish.
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gtars.refget import RefgetStore, digest_fasta

from . import s3
from .errors import OutputNotWritable, VerificationFailed
from .locations import parse_location

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


def publish_store(store_path, destination, *, endpoint_url=None, s3_client=None):
    """Upload a store directory to ``s3://bucket/prefix/``; return bytes sent.

    ``rgstore.json`` goes last, so a reader that sees a new manifest finds
    every file it lists already there.
    """
    location = parse_location(destination)
    client = s3_client or s3.make_client(endpoint_url)
    root = Path(store_path)
    files = [path for path in root.rglob("*") if path.is_file()]
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
    sent += upload(manifest)
    logger.info(
        "store published", extra={"store": str(root), "destination": destination}
    )
    return sent


def directory_size(path):
    """Return the bytes of every file under ``path``."""
    return sum(
        entry.stat().st_size for entry in Path(path).rglob("*") if entry.is_file()
    )


def environment_endpoint():
    """Return the S3 endpoint the environment names, if any."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
