"""The life of one FASTA DRS object: `FastaRequest`.

One row per collection digest. Its state moves queued → running → ready,
or → failed; every move is a conditional ``UPDATE`` (see `services`), so a
burst of requests for the same digest starts exactly one generation. The
manifest's figures are copied onto the row when it becomes ready, so a
ready object is served without asking S3 anything.
"""

from django.db import models


class FastaRequest(models.Model):
    """Everything the site knows about one collection's FASTA."""

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        READY = "ready", "ready"
        FAILED = "failed", "failed"

    collection_digest = models.CharField(max_length=32, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    backend = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    request_count = models.PositiveBigIntegerField(default=0)

    requested_at = models.DateTimeField(auto_now_add=True)
    last_requested_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A running generation that reports no progress past this is retried.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # A failed one is retried automatically no sooner than this.
    retry_after = models.DateTimeField(null=True, blank=True)

    progress = models.FloatField(default=0.0)
    bases = models.PositiveBigIntegerField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    md5 = models.CharField(max_length=32, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_time = models.DateTimeField(null=True, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    # When the FASTA object was last seen in the bucket (lifecycle rules
    # expire objects; a ready row is checked again now and then).
    verified_at = models.DateTimeField(null=True, blank=True)

    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    error_history = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "FASTA request"
        ordering = ("-requested_at",)
        indexes = (models.Index(fields=("state", "lease_expires_at")),)

    def __str__(self):
        return f"{self.collection_digest} ({self.state})"
