"""DRS response bodies built from looked-up objects.

Plain functions returning JSON-ready dicts in the spec's field names
(``self_uri``, ``access_methods``, ``access_id``...). They read rows and
manifests only; presigned URLs come from `fasta_drs.outputs`.
"""

import threading
import time

from django.conf import settings

from fasta_drs import generator
from fasta_drs.outputs import get_outputs

from .objects import ACCESS_ID

MIME_TYPES = {
    "fasta": "application/gzip",
    "fai": "text/plain",
    "gzi": "application/octet-stream",
}
SUFFIXES = {"fasta": ".fa.gz", "fai": ".fa.gz.fai", "gzi": ".fa.gz.gzi"}


def self_uri(object_id_text):
    return f"drs://{settings.FASTA_DRS['HOSTNAME']}/{object_id_text}"


def drs_object(lookup):
    """The DrsObject of a ready object."""
    row, object_id = lookup.row, lookup.object_id
    if object_id.kind == "fasta":
        size, checksums = (
            row.size,
            [
                {"type": "sha-256", "checksum": row.sha256},
                {"type": "md5", "checksum": row.md5},
            ],
        )
    else:
        index = (row.manifest or {}).get("indexes", {}).get(object_id.kind, {})
        size = index.get("size", 0)
        checksums = [
            {"type": kind, "checksum": index[key]}
            for kind, key in (("sha-256", "sha256"), ("md5", "md5"))
            if index.get(key)
        ]
    created = row.created_time.isoformat().replace("+00:00", "Z")
    return {
        "id": object_id.text,
        "name": f"{object_id.digest}{SUFFIXES[object_id.kind]}",
        "self_uri": self_uri(object_id.text),
        "size": size,
        "created_time": created,
        "updated_time": created,
        "version": generator.__version__,
        "mime_type": MIME_TYPES[object_id.kind],
        "checksums": checksums,
        "access_methods": [{"type": "s3", "access_id": ACCESS_ID, "available": True}],
        "aliases": list(lookup.collection.aliases),
        "description": _description(lookup),
    }


# Presigned URLs are reused for a short while: signing costs about a
# millisecond, and a reused URL still has 90% of its lifetime left.
_signed = {}
_signed_lock = threading.Lock()


def access_url(lookup):
    """The AccessURL of a ready object: a presigned S3 GET."""
    ttl = settings.FASTA_DRS["URL_TTL_SECONDS"]
    key = (lookup.object_id.digest, lookup.object_id.kind, ttl)
    reuse_for = min(60.0, ttl / 10)
    now = time.monotonic()
    with _signed_lock:
        signed = _signed.get(key)
    if signed is None or now - signed[0] > reuse_for:
        url = get_outputs().presigned_url(
            lookup.object_id.digest, lookup.object_id.kind, ttl
        )
        signed = (now, url)
        with _signed_lock:
            _signed[key] = signed
    return {"url": signed[1]}


def pending(lookup):
    """The body of a 202: where the generation is, and when to ask again."""
    row = lookup.row
    return {
        "msg": f"The object is being prepared; retry after {lookup.retry_after} s.",
        "status_code": 202,
        "id": lookup.object_id.text,
        "state": row.state,
        "progress": round(row.progress, 4),
        "retry_after": lookup.retry_after,
    }


def _description(lookup):
    what = {
        "fasta": "BGZF FASTA",
        "fai": "FASTA index (.fai)",
        "gzi": "BGZF index (.gzi)",
    }
    collection = lookup.collection
    return (
        f"{what[lookup.object_id.kind]} of sequence collection {collection.digest}: "
        f"{len(collection.names)} sequences, {collection.bases} bases"
    )
