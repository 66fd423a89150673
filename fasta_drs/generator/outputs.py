"""Where generated objects go: an S3 prefix or a local directory.

Both outputs offer the same small interface: `open_writer` for the one
large object, written as a stream and published only by ``commit``;
``put`` for small objects (indexes, manifest, status); ``get`` and
``delete``. A large object never appears half-written: on S3 it is a
multipart upload that only ``CompleteMultipartUpload`` makes visible and
that any failure aborts; in a directory it is a temporary file renamed
into place. Both compute the object's MD5 and SHA-256 as bytes pass.
"""

import hashlib
import logging
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import s3
from .errors import OutputNotWritable
from .locations import parse_location

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "fasta/"
# S3 needs parts of 5 MiB or more. 8 MiB keeps a 3 GB genome (about 1 GB
# compressed) far below the 10,000-part limit, bounds the memory of parts in
# flight, and leaves little to upload after the last block is compressed.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
_PARTS_IN_FLIGHT = 3
# Published files are readable by all, as a file server would need; mkstemp
# alone would leave them private to their owner.
PUBLISHED_FILE_MODE = 0o644


def open_output(text, *, endpoint_url=None, s3_client=None, part_size=None):
    """Return the output for a directory or an ``s3://bucket/prefix/``."""
    location = parse_location(text, default_prefix=DEFAULT_PREFIX)
    if location.kind == "s3":
        client = s3_client or s3.make_client(endpoint_url)
        return S3Output(location, client, part_size=part_size or DEFAULT_PART_SIZE)
    if location.kind == "local":
        return DirectoryOutput(location.path)
    raise OutputNotWritable(
        f"Cannot write to {text}: the output must be a directory or s3://BUCKET/PREFIX/."
    )


class _Digests:
    """MD5 and SHA-256 of a byte stream, and its size."""

    def __init__(self):
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, data):
        self.md5.update(data)
        self.sha256.update(data)
        self.size += len(data)

    def as_dict(self):
        return {
            "size": self.size,
            "md5": self.md5.hexdigest(),
            "sha256": self.sha256.hexdigest(),
        }


class DirectoryOutput:
    """Objects as files in one directory."""

    def __init__(self, path):
        self.path = Path(path)
        self.location = str(self.path)

    def describe(self, name):
        return str(self.path / name)

    def open_writer(self, name, content_type=None):
        self._ensure_directory()
        return _FileWriter(self.path / name)

    def put(self, name, data, content_type=None):
        self._ensure_directory()
        target = self.path / name
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=f".{name}.")
        os.fchmod(fd, PUBLISHED_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise _not_writable(target, exc) from exc

    def get(self, name):
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name):
        (self.path / name).unlink(missing_ok=True)

    def abort_uploads(self, name):
        """Remove temporary files a killed generation left behind."""
        for leftover in self.path.glob(f".{name}.*.partial"):
            leftover.unlink(missing_ok=True)

    def _ensure_directory(self):
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _not_writable(self.path, exc) from exc


class _FileWriter:
    """A file written under a temporary name and renamed on commit."""

    def __init__(self, target):
        self.target = target
        self.digests = _Digests()
        try:
            fd, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
            )
        except OSError as exc:
            raise _not_writable(target, exc) from exc
        os.fchmod(fd, PUBLISHED_FILE_MODE)
        self._temporary = Path(temporary)
        self._handle = os.fdopen(fd, "wb", buffering=1024 * 1024)

    def write(self, data):
        self.digests.update(data)
        try:
            self._handle.write(data)
        except OSError as exc:
            raise _not_writable(self.target, exc) from exc

    def commit(self):
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            os.replace(self._temporary, self.target)
        except OSError as exc:
            self.abort()
            raise _not_writable(self.target, exc) from exc
        return self.digests.as_dict()

    def abort(self):
        if not self._handle.closed:
            self._handle.close()
        self._temporary.unlink(missing_ok=True)


class S3Output:
    """Objects under one S3 prefix."""

    def __init__(self, location, client, *, part_size=DEFAULT_PART_SIZE):
        self.location = location
        self.bucket = location.bucket
        self.client = client
        self.part_size = part_size

    def describe(self, name):
        return self.describe_key(self.location.key(name))

    def describe_key(self, key):
        return f"s3://{self.bucket}/{key}"

    def open_writer(self, name, content_type="application/octet-stream"):
        return _MultipartWriter(self, self.location.key(name), content_type)

    def put(self, name, data, content_type="application/json"):
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.location.key(name),
                Body=data,
                ContentType=content_type,
            )
        except s3.TRANSPORT_ERRORS as exc:
            raise _not_writable(self.describe(name), exc) from exc

    def get(self, name):
        try:
            reply = self.client.get_object(
                Bucket=self.bucket, Key=self.location.key(name)
            )
            return reply["Body"].read()
        except s3.TRANSPORT_ERRORS as exc:
            if s3.is_missing(exc):
                return None
            raise _not_writable(self.describe(name), exc) from exc

    def delete(self, name):
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.location.key(name))
        except s3.TRANSPORT_ERRORS as exc:
            if not s3.is_missing(exc):
                raise _not_writable(self.describe(name), exc) from exc

    def open_uploads(self, name):
        """Return the multipart uploads open for the object ``name``."""
        key = self.location.key(name)
        reply = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        return [upload for upload in reply.get("Uploads", []) if upload["Key"] == key]

    def abort_uploads(self, name):
        """Abort every open multipart upload of the object ``name``.

        Callers decide that no live generation owns them; the uploads' own
        ``Initiated`` times cannot tell (moto reports a fixed date).
        """
        try:
            for upload in self.open_uploads(name):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                logger.warning(
                    "aborted a multipart upload left by a dead generation",
                    extra={"key": upload["Key"], "upload_id": upload["UploadId"]},
                )
        except s3.TRANSPORT_ERRORS as exc:
            raise _not_writable(self.describe(name), exc) from exc


class _MultipartWriter:
    """One S3 object written as a stream of parts, uploaded as they fill."""

    def __init__(self, output, key, content_type):
        self.output = output
        self.key = key
        self.digests = _Digests()
        self._client = output.client
        self._bucket = output.bucket
        self._part_size = output.part_size
        self._buffer = bytearray()
        self._futures = []
        self._finished = False
        self._slots = threading.BoundedSemaphore(_PARTS_IN_FLIGHT)
        self._pool = ThreadPoolExecutor(
            max_workers=_PARTS_IN_FLIGHT, thread_name_prefix="s3-part"
        )
        try:
            reply = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type
            )
        except s3.TRANSPORT_ERRORS as exc:
            self._pool.shutdown()
            raise _not_writable(output.describe_key(key), exc) from exc
        self.upload_id = reply["UploadId"]

    def write(self, data):
        self.digests.update(data)
        self._buffer += data
        if len(self._buffer) >= self._part_size:
            self._send_part()

    def commit(self):
        try:
            if self._buffer or not self._futures:
                self._send_part()
            parts = [future.result() for future in self._futures]
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
            self._finished = True
        except BaseException as exc:
            self.abort()
            if isinstance(exc, s3.TRANSPORT_ERRORS):
                raise _not_writable(self.output.describe_key(self.key), exc) from exc
            raise
        finally:
            self._pool.shutdown()
        return self.digests.as_dict()

    def abort(self):
        if self._finished:
            return
        self._finished = True
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self.key, UploadId=self.upload_id
            )
        except s3.TRANSPORT_ERRORS:
            logger.exception(
                "could not abort a multipart upload; the bucket's lifecycle rule "
                "removes it",
                extra={"key": self.key, "upload_id": self.upload_id},
            )

    def _send_part(self):
        body = bytes(self._buffer)
        self._buffer.clear()
        number = len(self._futures) + 1
        self._slots.acquire()
        self._raise_if_failed()
        future = self._pool.submit(self._upload_part, number, body)
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)

    def _raise_if_failed(self):
        """Stop early when an earlier part could not be uploaded."""
        for future in self._futures:
            if future.done() and future.exception() is not None:
                self._slots.release()
                future.result()

    def _upload_part(self, number, body):
        reply = self._client.upload_part(
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        return {"PartNumber": number, "ETag": reply["ETag"]}


def _not_writable(where, exc):
    detail = s3.error_code(exc) if isinstance(exc, s3.TRANSPORT_ERRORS) else exc
    return OutputNotWritable(
        f"Cannot write {where}: {detail}. Check that the output exists and that "
        "these credentials may write, list and abort uploads there, then retry."
    )
