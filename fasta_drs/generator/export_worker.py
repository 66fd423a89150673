"""Child process that writes a collection's FASTA text into a pipe.

gtars holds the GIL while it works, so a thread of the generator's own
process could not read the text while gtars writes it. This process does
the gtars side alone: for each batch of sequences it opens the store,
loads just those sequences and lets ``export_fasta`` write them, in the
order given, to the pipe it inherited as ``/dev/fd/N``. Reopening the store
per batch lets gtars free the bases of the last batch, so memory is bounded
by the largest batch rather than by the genome.

It reads its job as JSON on standard input and reports a failure as one
JSON line on standard error. It is started by `fasta_drs.generator.pipeline`
and is not meant to be run by hand.
"""

import json
import sys

from gtars.refget import RefgetStore


def run(job):
    """Write every batch of ``job`` to its output descriptor."""
    output = f"/dev/fd/{job['output_fd']}"
    digest = job["collection_digest"]
    for batch in job["batches"]:
        store = RefgetStore.open_local(job["store_path"])
        store.set_quiet(True)
        store.load_collection(digest)
        for _, sequence_digest in batch:
            store.load_sequence(sequence_digest)
        store.export_fasta(
            digest, output, [name for name, _ in batch], job["line_width"]
        )
        del store


def main():
    job = json.load(sys.stdin)
    try:
        run(job)
    except (OSError, KeyError, ValueError) as exc:
        json.dump({"error": type(exc).__name__, "message": str(exc)}, sys.stderr)
        sys.stderr.write("\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
