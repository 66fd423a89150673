"""The shared FASTA generator: a RefgetStore collection becomes BGZF FASTA.

This package is what both the Celery task and the AWS Lambda handler call.
It imports only the standard library, gtars, boto3 and libdeflate, never
Django, so it can be packaged alone. `generate_fasta` is the whole public
interface; ``python -m fasta_drs.generator`` is its command line.
"""

__version__ = "1.0.0"

from .errors import (
    CollectionNotFound,
    GenerationCancelled,
    GenerationError,
    InvalidOptions,
    OutputNotWritable,
    StoreUnavailable,
    VerificationFailed,
)
from .pipeline import Progress, check_digest, generate_fasta, object_names

__all__ = [
    "CollectionNotFound",
    "GenerationCancelled",
    "GenerationError",
    "InvalidOptions",
    "OutputNotWritable",
    "Progress",
    "StoreUnavailable",
    "VerificationFailed",
    "__version__",
    "check_digest",
    "generate_fasta",
    "object_names",
]
