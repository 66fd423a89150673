"""``manage.py add_fasta FILE... [--alias NAMESPACE:NAME]``: import FASTA
files into the registry's store, verify them, publish the store, and print
each collection digest."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fasta_drs.generator import GenerationError
from fasta_drs.generator.publishing import add_fasta_files
from fasta_drs.registry import get_registry


class Command(BaseCommand):
    help = "Add FASTA files to the RefgetStore and publish it."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="FASTA files (plain or gzip)")
        parser.add_argument(
            "--alias", help="NAMESPACE:NAME to register for the collection (one file)"
        )

    def handle(self, *args, files, alias, **options):
        if alias and ":" not in alias:
            raise CommandError("--alias takes NAMESPACE:NAME, e.g. ucsc:hg38.")
        store = settings.FASTA_DRS["STORE"]
        self.stderr.write(f"Adding {len(files)} file(s) to {store} ...")
        try:
            for number, added in enumerate(
                add_fasta_files(store, files, alias=alias), 1
            ):
                self.stderr.write(
                    f"[{number}/{len(files)}] {added.path}: "
                    f"{added.sequences} sequences, {added.bases:,} bases, verified"
                )
                self.stdout.write(added.collection_digest)
        except GenerationError as error:
            raise CommandError(error.message) from error
        except OSError as error:
            raise CommandError(
                f"Cannot import: {error}. Check that the file is FASTA."
            ) from error
        get_registry().refresh()
        self.stderr.write(f"Published {store}.")
