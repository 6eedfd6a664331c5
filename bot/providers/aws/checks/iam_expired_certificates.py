"""Expired SSL/TLS certificates stored in IAM are removed (CIS AWS 1.19)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import paginate

PERMISSIONS = ("iam:ListServerCertificates",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.expired_certificates",
    provider="aws",
    title="No expired server certificate is stored in IAM",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("1.19",)},
    remediation=(
        "Delete the expired certificate: aws iam delete-server-certificate "
        "--server-certificate-name NAME (move services to ACM certificates)."
    ),
    scope="global",
)

clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731  (replaceable in tests)


def judge(certificates: Iterable[Mapping[str, Any]], now: datetime) -> list[CheckResult]:
    """One result per certificate: fail when its expiration has passed."""
    results = []
    for cert in certificates:
        expires = cert["Expiration"]
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        expired = expires <= now
        detail = f"{'Expired' if expired else 'Expires'} {expires:%Y-%m-%d}."
        results.append(CheckResult(str(cert["Arn"]), not expired, "global", detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """List the server certificates and judge them."""
    iam = session.client("iam")
    certificates = paginate(iam, "list_server_certificates", "ServerCertificateMetadataList")
    return judge(certificates, clock())
