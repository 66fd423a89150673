"""Generate the demo genome's FASTA through the generator's command line.

Builds a RefgetStore from the bundled ``demo.fa`` under ``var/demo/``, runs
``python -m fasta_drs.generator`` on it, and shows the objects it wrote and
a region read back through the ``.fai`` and ``.gzi`` indexes.
"""

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

from fasta_drs.demo import DEMO_FASTA
from fasta_drs.generator.publishing import import_fasta

WORK = Path("var/demo")


def main():
    store = WORK / "store"
    output = WORK / "fasta"
    if store.exists():
        shutil.rmtree(store)
    digest = import_fasta(store, DEMO_FASTA)
    print(f"Built a RefgetStore at {store} holding collection {digest}.\n")

    command = [
        sys.executable,
        "-m",
        "fasta_drs.generator",
        str(store),
        digest,
        str(output),
    ]
    print("$ python", " ".join(command[1:]))
    status = subprocess.call(command)
    if status:
        return status

    print(f"\nObjects in {output}/:")
    for path in sorted(output.glob(f"{digest}*")):
        print(f"  {path.name:48} {path.stat().st_size:>9,} bytes")
    fasta = output / f"{digest}.fa.gz"
    with gzip.open(fasta, "rt") as handle:
        print(f"\nFirst line of the FASTA: {handle.readline().strip()}")
    if shutil.which("samtools"):
        region = ["samtools", "faidx", str(fasta), "chrB:14001-14060"]
        print("\n$", " ".join(region))
        subprocess.call(region)
    else:
        print(
            "\nInstall samtools to read regions: samtools faidx",
            fasta,
            "chrB:14001-14060",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
