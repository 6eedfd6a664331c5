"""Logging setup: one format, and every record passed through the redaction function."""

from __future__ import annotations

import logging
import sys

from bot.redaction import redact


class RedactingFilter(logging.Filter):
    """Redact credential-shaped values from every log record, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not drop the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, instead of letting the formatter do it.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr at `level` through the redacting filter (idempotent)."""
    root = logging.getLogger()
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "azure", "msal", "google", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # azure-identity logs every failed token request at WARNING; the scan's error log has it.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
