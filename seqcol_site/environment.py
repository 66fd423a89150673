"""Every setting the site reads from the environment, in one table.

Each entry names the variable, its default for a one-machine development
run, and how its text becomes a value. `read` is called once, by
``settings.py``; nothing else in the site reads ``os.environ``. A value
that cannot be parsed raises ``ImproperlyConfigured`` naming the variable.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _boolean(name, text):
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {text!r}.")


def _list(name, text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _text(name, text):
    return text


def _integer(name, text):
    try:
        return int(text)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {text!r}."
        ) from None


def _choice(*choices):
    def parse(name, text):
        if text not in choices:
            raise ImproperlyConfigured(
                f"{name} must be one of {', '.join(choices)}, not {text!r}."
            )
        return text

    return parse


def _url_prefix(name, text):
    """A path prefix such as ``seqcol/``: no leading slash, one trailing."""
    stripped = text.strip().strip("/")
    if not stripped or any(part in ("", ".", "..") for part in stripped.split("/")):
        raise ImproperlyConfigured(
            f"{name} must be a path such as seqcol/, not {text!r}."
        )
    return stripped + "/"


def _database(name, text):
    """Turn a database URL into a Django ``DATABASES`` entry.

    ``sqlite:///var/db.sqlite3`` is relative to the project directory,
    ``sqlite:////tmp/db.sqlite3`` absolute.
    """
    parts = urlsplit(text)
    if parts.scheme == "sqlite":
        location = Path(unquote(parts.path[1:]))
        if not location.is_absolute():
            location = BASE_DIR / location
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(location)}
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ImproperlyConfigured(
        f"{name} must be sqlite:///PATH or postgres://USER:PASSWORD@HOST:PORT/NAME, "
        f"not a {parts.scheme or 'schemeless'} URL."
    )


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    parse: object
    help: str


VARIABLES = (
    Variable(
        "DJANGO_DEBUG", "false", _boolean, "Django debug mode; never in production"
    ),
    Variable(
        "DJANGO_SECRET_KEY",
        None,
        _text,
        "signing key; required unless DJANGO_DEBUG is true",
    ),
    Variable("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost", _list, "host names served"),
    Variable(
        "DATABASE_URL",
        "sqlite:///var/db.sqlite3",
        _database,
        "sqlite:///PATH or postgres://USER:PASSWORD@HOST:PORT/NAME",
    ),
    Variable(
        "DATABASE_CONN_MAX_AGE",
        "60",
        _integer,
        "seconds a database connection is kept for reuse (0: one per request)",
    ),
    Variable(
        "FASTA_DRS_STORE",
        "s3://seqcol-demo/store/",
        _text,
        "the RefgetStore: a directory, https:// URL or s3://bucket/prefix/",
    ),
    Variable(
        "FASTA_DRS_OUTPUT",
        "s3://seqcol-demo/fasta/",
        _text,
        "where generated FASTA objects go: s3://bucket/prefix/",
    ),
    Variable(
        "FASTA_DRS_BACKEND", "celery", _choice("celery", "lambda"), "who generates"
    ),
    Variable(
        "FASTA_DRS_LAMBDA_FUNCTION", "", _text, "function name, for the lambda backend"
    ),
    Variable(
        "CELERY_BROKER_URL",
        "filesystem://",
        _text,
        "Celery broker: filesystem:// (no server), redis://HOST:6379/0, amqp://...",
    ),
    Variable(
        "CELERY_FILESYSTEM_DIR",
        "var/celery",
        _text,
        "queue directory of the filesystem:// broker",
    ),
    Variable(
        "FASTA_DRS_HOSTNAME",
        "127.0.0.1:8000",
        _text,
        "host name in self_uri (drs://HOSTNAME/ID) and absolute links",
    ),
    Variable(
        "FASTA_DRS_URL_TTL_SECONDS", "3600", _integer, "lifetime of presigned URLs"
    ),
    Variable(
        "FASTA_DRS_MAX_ATTEMPTS", "3", _integer, "automatic attempts per generation"
    ),
    Variable(
        "FASTA_DRS_LEASE_SECONDS",
        "900",
        _integer,
        "a generation silent for this long is retried",
    ),
    Variable("FASTA_DRS_MAX_BULK", "100", _integer, "ids per bulk request at most"),
    Variable(
        "FASTA_DRS_CACHE_DIR", "var/cache/stores", _text, "local cache of S3 stores"
    ),
    Variable(
        "SEQCOL_PREFIX",
        "seqcol/",
        _url_prefix,
        "path of the seqcol and refget sequences API",
    ),
)


def read(environ=None):
    """Return every variable's value, parsed, keyed by name."""
    environ = os.environ if environ is None else environ
    values = {}
    for variable in VARIABLES:
        text = environ.get(variable.name, variable.default)
        values[variable.name] = (
            None if text is None else variable.parse(variable.name, text)
        )
    return values
