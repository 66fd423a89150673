"""Errors the generator raises, one class per thing a caller acts on.

Every error carries a message that says what happened and what to do, a
``code`` for machine readers (status objects, DRS error bodies, logs), an
``exit_status`` for the command line, and ``retriable``: whether the same
generation may succeed if it is simply tried again later.
"""

import os


class GenerationError(Exception):
    """Base class: a generation did not produce its objects."""

    code = "generation_failed"
    retriable = False
    exit_status = 1

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def as_dict(self):
        """Return the error as the JSON object status files record."""
        return {
            "code": self.code,
            "message": self.message,
            "retriable": self.retriable,
        }


class CollectionNotFound(GenerationError):
    """The store holds no collection with the requested digest or names."""

    code = "collection_not_found"
    exit_status = 2


class StoreUnavailable(GenerationError):
    """The store could not be reached or read; trying later may work."""

    code = "store_unavailable"
    retriable = True
    exit_status = os.EX_TEMPFAIL


class VerificationFailed(GenerationError):
    """Decoded bases disagree with the digest or length the store records.

    Permanent: the same store gives the same bytes again. Nothing is
    published when this is raised.
    """

    code = "verification_failed"


class OutputNotWritable(GenerationError):
    """The output location refused a write; fix access, then retry."""

    code = "output_not_writable"
    retriable = True
    exit_status = os.EX_TEMPFAIL


class InvalidOptions(GenerationError):
    """The options given cannot describe a generation."""

    code = "invalid_options"
    exit_status = os.EX_USAGE


class InternalError(GenerationError):
    """Something the generator did not foresee; its traceback is logged."""

    code = "internal_error"


class GenerationCancelled(GenerationError):
    """The generation was asked to stop (a signal or a deadline)."""

    code = "cancelled"
    retriable = True
    exit_status = os.EX_TEMPFAIL
