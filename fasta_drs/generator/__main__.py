"""Run the generator's command line: ``python -m fasta_drs.generator``."""

import sys

from .cli import main

sys.exit(main())
