"""The Django project: settings, URLs and entry points of the registry site.

The Celery app is loaded with the project so that ``shared_task`` uses it.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
