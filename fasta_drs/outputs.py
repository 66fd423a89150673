"""The generated objects in S3, as the site reads and hands them out.

Keys are only ever built here, from a digest that `check_digest` accepted
and the fixed object names of `object_names`, under the configured output
prefix; nothing a client sends becomes part of a key otherwise. The boto3
client is the generator's (`fasta_drs.generator.s3`).
"""

import json
import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .generator import check_digest, object_names, s3
from .generator.locations import parse_location
from .generator.outputs import DEFAULT_PREFIX, S3Output

# Which generated object each DRS object id suffix names.
KINDS = {"": "fasta", ".fai": "fai", ".gzi": "gzi"}


class Outputs:
    """The output prefix: manifests, status objects, presigned URLs."""

    def __init__(self, output):
        location = parse_location(output, default_prefix=DEFAULT_PREFIX)
        self.client = s3.make_client()
        self.output = S3Output(location, self.client)
        self.bucket = location.bucket
        self.location = location

    def key(self, collection_digest, kind):
        check_digest(collection_digest)
        return self.location.key(object_names(collection_digest)[kind])

    def manifest(self, collection_digest):
        """Return the manifest, or None while there is none."""
        return self._json(collection_digest, "manifest")

    def status(self, collection_digest):
        """Return the status object, or None if no generation wrote one."""
        return self._json(collection_digest, "status")

    def exists(self, collection_digest):
        """Whether the FASTA object is still in the bucket."""
        try:
            self.client.head_object(
                Bucket=self.bucket, Key=self.key(collection_digest, "fasta")
            )
        except s3.TRANSPORT_ERRORS as exc:
            if s3.is_missing(exc):
                return False
            raise
        return True

    def presigned_url(self, collection_digest, kind, seconds):
        """Return a URL that downloads one object for ``seconds``."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(collection_digest, kind)},
            ExpiresIn=seconds,
        )

    def delete(self, collection_digest):
        """Remove every object a generation wrote for the digest."""
        check_digest(collection_digest)
        for name in object_names(collection_digest).values():
            self.output.delete(name)

    def _json(self, collection_digest, kind):
        check_digest(collection_digest)
        raw = self.output.get(object_names(collection_digest)[kind])
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None


_outputs = None
_outputs_lock = threading.Lock()


def get_outputs():
    """Return the process-wide `Outputs` for the configured prefix."""
    global _outputs
    with _outputs_lock:
        if _outputs is None:
            _outputs = Outputs(settings.FASTA_DRS["OUTPUT"])
        return _outputs


@receiver(setting_changed)
def _forget_outputs(setting, **kwargs):
    global _outputs
    if setting == "FASTA_DRS":
        with _outputs_lock:
            _outputs = None
