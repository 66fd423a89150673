"""Settings for the DRS benchmark: the test settings plus the old design's
endpoint, served by the same site."""

from tests.settings import *  # noqa: F403  (the tests' settings, as is)

ROOT_URLCONF = "tests.benchmarks.old_design_urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
