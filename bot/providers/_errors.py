"""Building classified, redacted `CloudError`s: shared by the REST-based adapters."""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence

from bot.domain import CloudError, ErrorCategory
from bot.redaction import redact, redact_one_line

DETAIL_LIMIT = 4000


ASSUME_ROLE_REMEDIATION = (
    "Fix the role's trust policy (it must trust the connector's identity) or the external ID "
    "the project uses, then re-run the scan."
)


def remediations(permission_denied: str) -> dict[ErrorCategory, str]:
    """The one-sentence next step per category; only the permission advice differs by cloud."""
    return {
        ErrorCategory.INVALID_CREDENTIALS: (
            "Replace the connector with new credentials (saved credentials cannot be edited)."
        ),
        ErrorCategory.PERMISSION_DENIED: permission_denied,
        ErrorCategory.ASSUME_ROLE_FAILED: ASSUME_ROLE_REMEDIATION,
        ErrorCategory.TEMPORARY: "Re-run the scan; contact support if it keeps failing.",
        ErrorCategory.UNKNOWN: "Contact support and include these error details.",
    }


def status_phrase(status: int) -> str:
    """An HTTP status as a code word, e.g. 503 -> "ServiceUnavailable"."""
    try:
        return http.HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        return f"HTTP{status}"


def cloud_error(
    category: ErrorCategory,
    code: str,
    message: str,
    secrets: Sequence[str],
    detail: str = "",
    remediation: str | None = None,
    *,
    defaults: Mapping[ErrorCategory, str],
    missing_permissions: Sequence[str] = (),
) -> CloudError:
    """A `CloudError` with every text redacted; `defaults` gives the remediation by category;
    `missing_permissions`: the permissions the provider named as missing (permission_denied)."""
    return CloudError(
        category=category,
        code=redact_one_line(code, secrets, limit=80),
        message=redact_one_line(message, secrets),
        remediation=redact_one_line(remediation or defaults[category], secrets, limit=500),
        detail=redact(detail, secrets)[:DETAIL_LIMIT],
        missing_permissions=tuple(
            redact_one_line(p, secrets, limit=200) for p in missing_permissions
        ),
    )
