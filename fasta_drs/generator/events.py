"""The event that asks for one generation, as both backends receive it.

The site builds it (`generation_event`); the Celery task and the Lambda
handler read it (`parse_event`)::

    {"store": "s3://bucket/store/", "collection_digest": "...",
     "output": "s3://bucket/fasta/", "line_width": 80, "level": 1}
"""

from .errors import InvalidOptions

_REQUIRED = ("store", "collection_digest", "output")
_OPTIONAL_INTEGERS = ("line_width", "level")


def generation_event(store, collection_digest, output, **options):
    """Return the event for one generation."""
    return {
        "store": store,
        "collection_digest": collection_digest,
        "output": output,
        **options,
    }


def parse_event(event):
    """Return ``(store, collection_digest, output, options)`` of an event.

    Raises:
        InvalidOptions: The event is not an object, lacks a field, or has
            an option of the wrong type.
    """
    if not isinstance(event, dict):
        raise InvalidOptions("The event must be a JSON object.")
    missing = [key for key in _REQUIRED if not event.get(key)]
    if missing:
        raise InvalidOptions(f"The event lacks {', '.join(missing)}.")
    options = {}
    for key in _OPTIONAL_INTEGERS:
        if key in event:
            value = event[key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidOptions(f"{key} must be an integer.")
            options[key] = value
    return event["store"], event["collection_digest"], event["output"], options
