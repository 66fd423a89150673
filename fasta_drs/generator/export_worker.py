"""Child process that writes a collection's FASTA text into a pipe.

gtars holds the GIL while it works, so a thread of the generator's own
process could not read the text while gtars writes it. This process does
the gtars side alone: for each batch of sequences it opens the store,
loads just those sequences and lets ``export_fasta`` write them, in the
order given, to the pipe it inherited as ``/dev/fd/N``. Reopening the store
per batch lets gtars free the bases of the last batch, so memory is bounded
by the largest batch rather than by the genome.

Standard input carries one JSON line describing the job, then one JSON
line per batch (a list of ``[name, sequence_digest]`` pairs), sent as soon
as the batch's files are in the store directory; end of input ends the
job. At the end it writes one JSON line on standard error: its peak
resident memory on success, or the failure. It is
started by `fasta_drs.generator.pipeline`, by path (so that importing it
loads nothing but gtars), and is not meant to be run by hand.
"""

import json
import sys

from gtars.refget import RefgetStore


def run(job, batches):
    """Write every batch to the job's output descriptor, in order."""
    output = f"/dev/fd/{job['output_fd']}"
    digest = job["collection_digest"]
    for line in batches:
        batch = json.loads(line)
        store = RefgetStore.open_local(job["store_path"])
        store.set_quiet(True)
        store.load_collection(digest)
        for _, sequence_digest in batch:
            store.load_sequence(sequence_digest)
        store.export_fasta(
            digest, output, [name for name, _ in batch], job["line_width"]
        )
        del store


def peak_rss_kb():
    """Return this process's peak resident memory (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def main():
    job = json.loads(sys.stdin.readline())
    try:
        run(job, sys.stdin)
    except (OSError, KeyError, ValueError) as exc:
        json.dump({"error": type(exc).__name__, "message": str(exc)}, sys.stderr)
        sys.stderr.write("\n")
        return 3
    json.dump({"peak_rss_kb": peak_rss_kb()}, sys.stderr)
    sys.stderr.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
