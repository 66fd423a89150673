"""Django app that serves the registry's genomes as FASTA over GA4GH DRS."""

from django.apps import AppConfig


class FastaDrsConfig(AppConfig):
    name = "fasta_drs"
    verbose_name = "FASTA over DRS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
