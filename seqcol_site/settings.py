"""Django settings, all read from the environment through `environment`.

The defaults run the site on one machine with no servers (SQLite under
``var/``); production sets the variables listed in the README.
"""

import secrets

from django.core.exceptions import ImproperlyConfigured

from seqcol_site import environment

BASE_DIR = environment.BASE_DIR
_env = environment.read()

DEBUG = _env["DJANGO_DEBUG"]
SECRET_KEY = _env["DJANGO_SECRET_KEY"]
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (a long random string), or DJANGO_DEBUG=true "
            "for a development run."
        )
    # Development only: sessions end when the process does.
    SECRET_KEY = secrets.token_urlsafe(50)
ALLOWED_HOSTS = _env["DJANGO_ALLOWED_HOSTS"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "fasta_drs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "seqcol_site.urls"
WSGI_APPLICATION = "seqcol_site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        **_env["DATABASE_URL"],
        # Reusing connections saves a connect per request; health checks
        # drop a connection the server closed instead of failing a request.
        "CONN_MAX_AGE": _env["DATABASE_CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

# What the FASTA DRS app serves and how it generates; see the README.
FASTA_DRS = {
    "STORE": _env["FASTA_DRS_STORE"],
    "OUTPUT": _env["FASTA_DRS_OUTPUT"],
    "BACKEND": _env["FASTA_DRS_BACKEND"],
    "LAMBDA_FUNCTION": _env["FASTA_DRS_LAMBDA_FUNCTION"],
    "HOSTNAME": _env["FASTA_DRS_HOSTNAME"],
    "URL_TTL_SECONDS": _env["FASTA_DRS_URL_TTL_SECONDS"],
    "MAX_ATTEMPTS": _env["FASTA_DRS_MAX_ATTEMPTS"],
    "LEASE_SECONDS": _env["FASTA_DRS_LEASE_SECONDS"],
    "MAX_BULK": _env["FASTA_DRS_MAX_BULK"],
    "CACHE_DIR": str(BASE_DIR / _env["FASTA_DRS_CACHE_DIR"]),
}

# The seqcol registry API, served from FASTA_DRS["STORE"].
SEQCOL = {"PREFIX": _env["SEQCOL_PREFIX"]}

# Celery, for the celery backend. filesystem:// is kombu's broker that
# needs no server: queues are files under var/celery/.
CELERY_BROKER_URL = _env["CELERY_BROKER_URL"]
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = BASE_DIR / _env["CELERY_FILESYSTEM_DIR"] / "queue"
    _queue.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_queue.parent / "processed"),
        "store_processed": False,
        # Seconds between looks at the queue directory: a short wait keeps
        # small genomes' first request to a usable URL within seconds.
        "polling_interval": 0.1,
    }
# Progress and results are read from S3, where both backends write them.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "fasta_drs": {"handlers": ["console"], "level": "INFO"},
    },
}
