"""``manage.py pregenerate DIGEST... | --all``: start generations ahead of
requests, through the same single-dispatch path as the API."""

from django.core.management.base import BaseCommand, CommandError

from fasta_drs import services
from fasta_drs.dispatch import get_dispatcher
from fasta_drs.drs.objects import current_policy
from fasta_drs.registry import get_registry


class Command(BaseCommand):
    help = "Start FASTA generations for collections before anyone asks for them."

    def add_arguments(self, parser):
        parser.add_argument("digests", nargs="*", help="collection digests")
        parser.add_argument(
            "--all", action="store_true", help="every collection of the store"
        )

    def handle(self, *args, digests, all, **options):
        registry = get_registry()
        if all:
            digests = registry.collection_digests()
        if not digests:
            raise CommandError("Name at least one collection digest, or use --all.")
        unknown = [digest for digest in digests if registry.collection(digest) is None]
        if unknown:
            raise CommandError(
                f"The store has no collection {', '.join(unknown)}; check the digests."
            )

        dispatcher = get_dispatcher()
        policy = current_policy()
        for number, digest in enumerate(digests, 1):
            try:
                row, dispatched = services.request_generation(
                    digest, dispatcher, policy
                )
            except services.DispatchUnavailable as exc:
                raise CommandError(
                    f"{digest}: {exc}; nothing more was started."
                ) from exc
            outcome = "dispatched" if dispatched else f"already {row.state}"
            self.stdout.write(f"[{number}/{len(digests)}] {digest}: {outcome}")
