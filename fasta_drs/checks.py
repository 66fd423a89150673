"""System checks: refuse settings the app cannot run with, by name."""

from django.conf import settings
from django.core.checks import Error, register

from .generator import InvalidOptions
from .generator.locations import parse_location


@register()
def check_fasta_drs_settings(app_configs, **kwargs):
    config = settings.FASTA_DRS
    errors = []

    def error(identifier, message, variable):
        errors.append(
            Error(message, hint=f"Set {variable}.", id=f"fasta_drs.{identifier}")
        )

    try:
        parse_location(config["STORE"])
    except InvalidOptions as exc:
        error("E001", f"The store location is not usable: {exc}", "FASTA_DRS_STORE")
    try:
        output = parse_location(config["OUTPUT"])
    except InvalidOptions as exc:
        error("E002", f"The output location is not usable: {exc}", "FASTA_DRS_OUTPUT")
    else:
        if output.kind != "s3":
            error(
                "E002",
                "The output must be s3://bucket/prefix/: DRS clients download "
                "through presigned S3 URLs.",
                "FASTA_DRS_OUTPUT",
            )
    if config["BACKEND"] == "lambda" and not config["LAMBDA_FUNCTION"]:
        error(
            "E003",
            "The lambda backend needs the name of the function to invoke.",
            "FASTA_DRS_LAMBDA_FUNCTION",
        )
    if not 1 <= config["URL_TTL_SECONDS"] <= 7 * 24 * 3600:
        error(
            "E004",
            "Presigned URLs live between 1 second and 7 days (S3's limit).",
            "FASTA_DRS_URL_TTL_SECONDS",
        )
    for key, variable, low in (
        ("MAX_ATTEMPTS", "FASTA_DRS_MAX_ATTEMPTS", 1),
        ("LEASE_SECONDS", "FASTA_DRS_LEASE_SECONDS", 60),
        ("MAX_BULK", "FASTA_DRS_MAX_BULK", 1),
    ):
        if config[key] < low:
            error("E005", f"{variable} must be at least {low}.", variable)
    return errors
