"""The GA4GH sequence collections (seqcol) API and the refget sequences API,
served from the same RefgetStore the FASTA generator reads."""
