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
