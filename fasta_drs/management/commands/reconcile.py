"""``manage.py reconcile``: bring every request's state up to date from S3.

Meant for cron. Queued and running rows learn from their status and
manifest objects; ready rows are checked against the bucket; rows whose
retry is due are dispatched again.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from fasta_drs import services
from fasta_drs.dispatch import get_dispatcher
from fasta_drs.drs.objects import current_policy
from fasta_drs.models import FastaRequest
from fasta_drs.outputs import get_outputs

State = FastaRequest.State


class Command(BaseCommand):
    help = "Sync FASTA request states from the objects in S3."

    def handle(self, *args, **options):
        outputs = get_outputs()
        policy = current_policy()
        dispatcher = get_dispatcher()
        now = timezone.now()
        changes = {}
        rows = FastaRequest.objects.exclude(state=State.FAILED, retry_after=None)
        total = rows.count()
        for number, row in enumerate(rows.iterator(), 1):
            before = row.state
            row = services.learn_state(row, outputs, policy, now)
            if row.state == State.READY:
                row.verified_at = None  # check every ready object now
                row = services.verify_ready(row, outputs, now)
            if services.is_due(row, policy, now):
                row, _ = services.start_generation(row, dispatcher, policy, now)
            if row.state != before:
                changes[f"{before} → {row.state}"] = (
                    changes.get(f"{before} → {row.state}", 0) + 1
                )
            if number % 100 == 0:
                self.stderr.write(f"{number}/{total} checked")
        summary = ", ".join(f"{count} {change}" for change, count in changes.items())
        self.stdout.write(f"{total} requests checked; {summary or 'nothing changed'}.")
