"""A small bundled genome, and ``python -m fasta_drs.demo`` to show it off.

``demo.fa`` is synthetic: two chromosomes (one soft-masked in part, one
with IUPAC codes), a mitochondrion and a one-base contig.
"""

from pathlib import Path

DEMO_FASTA = Path(__file__).with_name("demo.fa")
