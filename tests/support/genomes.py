"""FASTA files and RefgetStores for tests and benchmarks, made on the spot."""

import os
import random
from pathlib import Path

from fasta_drs.generator.publishing import import_fasta

# Each case is valid FASTA that has broken a FASTA writer somewhere.
ODD_RECORDS = [
    ("empty_sequence", None, ""),
    ("one_base", "a single base", "A"),
    (
        "exact_lines",
        "240 bases: a multiple of 1, 2, 3, 4, 5, 6, 8, 10, 12 and 80",
        "ACGT" * 60,
    ),
    ("ragged_lines", None, "ACGTTGCA" * 30 + "G"),
    ("lowercase", "soft-masked input is stored upper case", "acgtnacgtt" * 25),
    ("iupac", "every IUPAC code", "ACGTRYKMSWBDHVN" * 20 + "ACGU"),
    ("long_header", "x" * 300 + " with spaces, commas; and = signs", "GATTACA" * 40),
    ("N_run", None, "N" * 1000 + "ACGT" * 3),
]


def write_fasta(path, records, line_width=60):
    """Write ``(name, description, bases)`` records as a FASTA file."""
    with open(path, "w") as handle:
        for name, description, bases in records:
            handle.write(f">{name}" + (f" {description}" if description else "") + "\n")
            for start in range(0, len(bases), line_width):
                handle.write(bases[start : start + line_width] + "\n")
    return Path(path)


def build_store(directory, records, *, encoded=False, name="genome.fa"):
    """Write ``records`` to a FASTA file and import it; return the digest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fasta = write_fasta(directory / name, records)
    return import_fasta(directory / "store", fasta, encoded=encoded)


def random_bases(length, seed):
    rng = random.Random(seed)
    return "".join(rng.choices("ACGT", k=length))


def write_synthetic_genome(path, megabases, chromosomes=24, seed=1):
    """Write a random genome of ``megabases`` in ``chromosomes`` records.

    Chromosome lengths vary as real ones do; each starts with a run of N.
    Written in 4 MiB pieces so memory stays small for any size.
    """
    rng = random.Random(seed)
    weights = [rng.uniform(0.5, 1.5) for _ in range(chromosomes)]
    total = int(megabases * 1_000_000)
    lengths = [int(total * weight / sum(weights)) for weight in weights]
    table = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
    with open(path, "wb") as handle:
        for number, length in enumerate(lengths, 1):
            handle.write(b">chr%d synthetic chromosome %d\n" % (number, number))
            written = 0
            while written < length:
                size = min(length - written, 60 * 70_000)
                piece = bytearray(os.urandom(size).translate(table))
                if written == 0:
                    piece[: min(size, 10_000)] = b"N" * min(size, 10_000)
                for start in range(0, size, 60):
                    handle.write(piece[start : start + 60])
                    handle.write(b"\n")
                written += size
    return sum(lengths)
