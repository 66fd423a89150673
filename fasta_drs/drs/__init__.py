"""The GA4GH DRS 1.5 API over the registry's FASTA objects."""
