"""Settings for the test session: the site's own, on a real PostgreSQL.

The tests need what production needs: concurrent requests on PostgreSQL.
``.ci/run`` starts the server when it is down; ``TEST_DATABASE_URL``
points elsewhere.
"""

import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "true")
# Each test session queues its Celery tasks in a directory of its own; the
# worker processes it starts inherit the variable.
os.environ.setdefault("CELERY_FILESYSTEM_DIR", tempfile.mkdtemp(prefix="celery-"))
os.environ["DATABASE_URL"] = os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fasta_drs"
)

from seqcol_site.settings import *  # noqa: F403  (the site's settings, as is)
