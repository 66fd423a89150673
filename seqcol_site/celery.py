"""The Celery application of the site, for the ``celery`` backend.

Run a worker with ``celery -A seqcol_site worker``. Its settings are the
``CELERY_*`` names in ``seqcol_site.settings``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seqcol_site.settings")

app = Celery("seqcol_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
