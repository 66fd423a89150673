"""The Django app that extends the seqcol registry with FASTA over DRS.

Its ``generator`` subpackage is Django-free and is imported on its own by
the Lambda handler; nothing at this package's top level imports Django.
"""
