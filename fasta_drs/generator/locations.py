"""Parse the three kinds of location a store or an output can live at.

A location is a local directory, an ``https://`` (or ``http://``) URL, or
``s3://bucket/prefix/``. Parsing is strict so that a typo fails before any
work starts, not halfway through a generation.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InvalidOptions

# S3 bucket naming rules, simplified to what a caller can get wrong.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Location:
    """Where a store or the output objects are."""

    kind: str  # "local", "http" or "s3"
    path: Path | None = None
    url: str | None = None
    bucket: str | None = None
    prefix: str = ""

    def key(self, name):
        """Return the S3 key of ``name`` under this location's prefix."""
        return f"{self.prefix}{name}"

    def __str__(self):
        if self.kind == "s3":
            return f"s3://{self.bucket}/{self.prefix}"
        if self.kind == "http":
            return self.url
        return str(self.path)


def parse_location(text, *, default_prefix=""):
    """Return the `Location` that ``text`` names.

    Args:
        text: A directory (str or Path), ``http(s)://`` URL or ``s3://bucket/prefix``.
        default_prefix: Prefix used for ``s3://bucket`` given without one.

    Raises:
        InvalidOptions: The text is empty, names an unsupported scheme, or
            an invalid bucket.
    """
    if isinstance(text, Path):
        return Location(kind="local", path=text)
    if not text:
        raise InvalidOptions("A location is required: a directory, https:// or s3://")
    parts = urlsplit(text)

    if parts.scheme == "s3":
        bucket = parts.netloc
        if not _BUCKET.match(bucket):
            raise InvalidOptions(
                f"{text!r} does not name a valid S3 bucket; write s3://BUCKET/PREFIX/"
            )
        prefix = parts.path.lstrip("/") or default_prefix
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return Location(kind="s3", bucket=bucket, prefix=prefix)

    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise InvalidOptions(f"{text!r} has no host")
        return Location(kind="http", url=text.rstrip("/"))

    if parts.scheme in ("", "file"):
        path = Path(parts.path if parts.scheme == "file" else text).expanduser()
        return Location(kind="local", path=path)

    raise InvalidOptions(
        f"{text!r} uses the unsupported scheme {parts.scheme!r}; "
        "use a directory, https:// or s3://"
    )
