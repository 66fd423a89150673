"""AWS Lambda entry point for FASTA generation.

The function's handler is ``lambda_handler.handler.handle``. It imports the
shared generator and nothing of Django.
"""
