"""Child process that writes a collection's FASTA text into a pipe.

gtars holds the GIL while it works, so a thread of the generator's own
process could not read the text while gtars writes it. This process does
the gtars side alone: for each batch of sequences it opens the store,
loads just those sequences and lets ``export_fasta`` write them, in the
order given, to the pipe it inherited as ``/dev/fd/N``. Reopening the store
per batch lets gtars free the bases of the last batch, so memory is bounded
by the largest batch rather than by the genome.

Standard input carries one JSON line describing the job, then one JSON
line per batch, sent as soon as the batch's files are in the store
directory::

    {"stream": false, "sequences": [[name, digest, header], ...]}

End of input ends the job. A batch marked ``stream`` holds one sequence
too large to hold in memory; it is read as a stream of bases and wrapped
here. At the end the worker writes one JSON line on standard error: its
peak resident memory on success, or the failure. It is started by
`fasta_drs.generator.pipeline`, by path (so that importing it loads
nothing but gtars), and is not meant to be run by hand.
"""

import json
import sys

from gtars.refget import RefgetStore

_STREAM_CHUNK = 4 * 1024 * 1024


def run(job, batches):
    """Write every batch to the job's output descriptor, in order."""
    output = f"/dev/fd/{job['output_fd']}"
    with open(job["output_fd"], "wb", buffering=1024 * 1024, closefd=False) as pipe:
        for line in batches:
            batch = json.loads(line)
            if batch["stream"]:
                stream_sequence(job, batch["sequences"][0], pipe)
            else:
                export_batch(job, batch["sequences"], output)


def export_batch(job, sequences, output):
    """Let gtars write a batch of sequences, holding only them in memory."""
    digest = job["collection_digest"]
    store = RefgetStore.open_local(job["store_path"])
    store.set_quiet(True)
    store.load_collection(digest)
    for _, sequence_digest, _ in sequences:
        store.load_sequence(sequence_digest)
    store.export_fasta(
        digest, output, [name for name, _, _ in sequences], job["line_width"]
    )


def stream_sequence(job, sequence, pipe):
    """Write one large sequence from a stream of bases, wrapping it here.

    gtars' ``export_fasta`` holds a whole sequence in memory; streaming
    keeps memory bounded for chromosomes of hundreds of megabases.
    """
    _, sequence_digest, header = sequence
    width = job["line_width"]
    store = RefgetStore.open_local(job["store_path"])
    store.set_quiet(True)
    pipe.write(header.encode())
    carry = b""
    for chunk in store.stream_sequence(sequence_digest, chunk_size=_STREAM_CHUNK):
        data = carry + chunk.encode("ascii")
        whole = len(data) - len(data) % width
        if whole:
            lines = [data[start : start + width] for start in range(0, whole, width)]
            lines.append(b"")
            pipe.write(b"\n".join(lines))
        carry = data[whole:]
    if carry:
        pipe.write(carry + b"\n")
    pipe.flush()  # before gtars writes the next batch through its own handle


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
