"""Findings alerts after each scan, routed by channel subscriptions.

A channel subscribes to a slice (`/cspm subscribe findings project=web-* provider=aws
severity=high`). After each finished scan (the scheduling service's follow-up of the
engine's "finished" event, once per scan), the scan's failing findings that were not failing
in the project's previous completed scan (and are not muted) are posted to each matching
channel: one message
per scan listing the resources (continued in its thread past Slack's limits), and the
findings that passed again as a thread reply. A `findings_alerts` row per (scan,
subscription) is written before posting, so a channel gets a scan's findings once.

The same subscriptions (parsed and stored here) route failure alerts too (``failures``,
`bot.scheduling.followups`).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot import providers
from bot.domain import SEVERITY_ORDER, Provider, ScanStatus, Severity
from bot.errors import InputError, NotFoundError
from bot.scheduling.delivery import Deliverer
from bot.views.findings_alert import (
    FindingLine,
    FindingsAlertData,
    SubscriptionInfo,
    build_findings_alert,
    build_resolved_reply,
)
from storage.db import Database
from storage.models import Finding
from storage.models_scheduling import ChannelSubscription, FindingsAlert
from storage.repositories import ConnectorRepo, ProjectRepo, ScanRepo
from storage.repositories.audit import AuditRepo
from storage.repositories.findings_alerts import (
    ChannelSubscriptionRepo,
    FindingDiffQueries,
    FindingKey,
    FindingsAlertRepo,
    MuteRepo,
)

log = logging.getLogger(__name__)

KINDS = ("findings", "failures")
"""The subscription kinds a channel can take: ``findings`` (new failing findings after each
scan), ``failures`` (the failure alerts of the matching projects, also posted to their alert
channel: `bot.scheduling.followups`)."""
SEVERITY_KINDS = ("findings",)
"""The kinds a severity filter applies to: a failure (a scan that could not check everything)
has no severity, so ``failures`` and ``digest`` refuse ``severity=``."""
DEFAULT_SEVERITY = Severity.HIGH
_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}
_PATTERN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.*? ")


@dataclass(frozen=True)
class SubscriptionSpec:
    """What ``/cspm subscribe`` asks for."""

    kind: str
    project_pattern: str = "*"
    provider: Provider | None = None
    min_severity: Severity = DEFAULT_SEVERITY


def parse_subscription(words: Sequence[str]) -> SubscriptionSpec:
    """``findings project=web-* provider=aws severity=high`` (``failures`` / ``digest``: no
    severity) → a spec; `InputError` naming the bad word otherwise."""
    if not words:
        raise InputError("Say what to subscribe to: `findings` or `failures`.")
    kind = {"failure": "failures", "digests": "digest"}.get(words[0].lower(), words[0].lower())
    if kind == "digest":
        raise InputError(
            "`digest` is routed elsewhere: `/cspm digest subscribe` gives this channel the "
            "digest. `/cspm subscribe` takes `findings` or `failures`."
        )
    if kind not in KINDS:
        raise InputError(f"Unknown subscription kind {kind[:30]!r}: use `findings` or `failures`.")
    values: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        key = key.lower()
        if not sep or key not in ("project", "provider", "severity") or not value:
            raise InputError(
                f"Cannot read {word[:60]!r}: use `project=PATTERN`, `provider=aws|azure|gcp` "
                "or `severity=critical|high|medium|low`."
            )
        values[key] = value
    pattern = values.get("project", "*").lower()
    if len(pattern) > 100 or not set(pattern) <= _PATTERN_CHARS:
        raise InputError(
            "A project pattern uses letters, digits, `-`, `_`, `.` and the wildcards `*` / `?`."
        )
    provider = None
    if "provider" in values:
        provider = values["provider"].lower()
        if provider not in providers.names():
            known = ", ".join(providers.names())
            raise InputError(f"Unknown provider {values['provider'][:20]!r}: {known}.")
    severity = DEFAULT_SEVERITY
    if "severity" in values and kind not in SEVERITY_KINDS:
        raise InputError(
            f"`{kind}` takes no severity: failure alerts and digests are about scans that "
            "could not check everything, which have no severity. Filter with `project=` and "
            "`provider=`, or subscribe to `findings severity=…`."
        )
    if "severity" in values:
        try:
            severity = Severity(values["severity"].lower())
        except ValueError:
            raise InputError(
                f"Unknown severity {values['severity'][:20]!r}: critical, high, medium or low."
            ) from None
    return SubscriptionSpec(kind, pattern, provider, severity)


def _info(sub: ChannelSubscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        subscription_id=sub.id,
        channel_id=sub.channel_id,
        kind=sub.kind,
        project_pattern=sub.project_pattern,
        provider=Provider(sub.provider) if sub.provider else None,
        min_severity=Severity(sub.min_severity),
    )


def matches(sub: ChannelSubscription, project_name: str, provider: str) -> bool:
    """Whether a subscription's slice includes a project (name pattern, case-insensitive)."""
    if sub.provider and sub.provider != provider:
        return False
    return fnmatch.fnmatchcase(project_name.lower(), sub.project_pattern)


def _key(f: Finding) -> FindingKey:
    return (f.check_id, f.resource, f.region or "")


def _line(f: Finding) -> FindingLine:
    return FindingLine(f.check_id, f.resource, f.region or "", Severity(f.severity), f.detail, f.id)


class FindingsAlerts:
    """Channel subscriptions and the findings alerts of finished scans."""

    def __init__(
        self,
        db: Database,
        now: Callable[[], datetime],
        deliverer: Callable[[], Deliverer | None],
    ) -> None:
        self.db = db
        self.now = now
        self._deliverer = deliverer

    # --- subscriptions ----------------------------------------------------------------------
    def subscribe(
        self, channel_id: str, spec: SubscriptionSpec, actor: str
    ) -> tuple[SubscriptionInfo, bool]:
        """Add a channel's slice (audited); (the subscription, False) when it exists."""
        provider = spec.provider
        with self.db.unit_of_work() as s:
            repo = ChannelSubscriptionRepo(s)
            found = repo.find(
                channel_id, spec.kind, spec.project_pattern, provider, spec.min_severity.value
            )
            if found is not None:
                return _info(found), False
            sub = repo.add(
                ChannelSubscription(
                    channel_id=channel_id,
                    kind=spec.kind,
                    project_pattern=spec.project_pattern,
                    provider=provider,
                    min_severity=spec.min_severity.value,
                    created_by=actor,
                    created_at=self.now(),
                )
            )
            AuditRepo(s).record(
                actor, "subscription.create", "subscription", sub.id, {"channel": channel_id}
            )
            return _info(sub), True

    def unsubscribe(self, subscription_id: int, actor: str) -> SubscriptionInfo:
        """Remove a subscription (audited); `NotFoundError` if it is gone."""
        with self.db.unit_of_work() as s:
            repo = ChannelSubscriptionRepo(s)
            sub = repo.get(subscription_id)
            if sub is None:
                raise NotFoundError("That subscription was already removed.")
            info = _info(sub)
            repo.delete(sub)
            AuditRepo(s).record(
                actor,
                "subscription.delete",
                "subscription",
                subscription_id,
                {"channel": info.channel_id},
            )
            return info

    def subscriptions(self, channel_id: str | None = None) -> list[SubscriptionInfo]:
        """Every subscription (of one channel, if given)."""
        with self.db.read() as s:
            return [_info(sub) for sub in ChannelSubscriptionRepo(s).listed(channel_id)]

    # --- after a scan -----------------------------------------------------------------------
    def _plan(self, scan_id: int) -> list[tuple[int, str, FindingsAlertData]]:
        """(subscription id, channel, alert data) for every subscription the scan concerns,
        each claimed (written) in the same transaction; [] when nothing to post."""
        with self.db.unit_of_work() as s:
            scan = ScanRepo(s).get(scan_id)
            if scan is None or ScanStatus(scan.status).is_active:
                return []
            project = ProjectRepo(s).get(scan.project_id)
            connector = ConnectorRepo(s).get(scan.connector_id)
            if project is None or connector is None:
                return []
            subs = [
                sub
                for sub in ChannelSubscriptionRepo(s).of_kind("findings")
                if matches(sub, project.name, connector.provider)
            ]
            if not subs:
                return []
            diff = FindingDiffQueries(s)
            previous = diff.previous_completed(project.id, scan.created_at, scan.id)
            now = self.now()
            mutes = MuteRepo(s).of_project(project.id)
            muted = {(m.check_id, m.resource, m.region) for m in mutes if m.expires_at > now}
            # a finding muted when the previous scan ran was not reported then: it is new
            # to the channel once its mute has expired
            then = diff.finished_at(previous) if previous else None
            muted_then = {
                (m.check_id, m.resource, m.region)
                for m in mutes
                if then is not None and m.created_at <= then < m.expires_at
            }
            before = {_key(f) for f in diff.failing(previous)} - muted_then if previous else set()
            failing = diff.failing(scan.id)
            fresh = [f for f in failing if _key(f) not in before]
            new = [_line(f) for f in fresh if _key(f) not in muted]
            muted_new = [_line(f) for f in fresh if _key(f) in muted]
            resolved: list[FindingLine] = []
            if previous is not None:
                passed = diff.passed_keys(scan.id)
                resolved = [_line(f) for f in diff.failing(previous) if _key(f) in passed]
            plans = []
            alerts = FindingsAlertRepo(s)
            for sub in subs:
                limit = _RANK[Severity(sub.min_severity)]
                mine = [f for f in new if _RANK[f.severity] <= limit]
                hidden = sum(1 for f in muted_new if _RANK[f.severity] <= limit)
                gone = [f for f in resolved if _RANK[f.severity] <= limit]
                if not mine and not gone:
                    continue
                row = alerts.claim(
                    FindingsAlert(
                        scan_id=scan.id,
                        subscription_id=sub.id,
                        channel_id=sub.channel_id,
                        new_count=len(mine),
                        resolved_count=len(gone),
                        created_at=self.now(),
                    )
                )
                data = FindingsAlertData(
                    project_id=project.id,
                    project_name=project.name,
                    provider=Provider(connector.provider),
                    scan_id=scan.id,
                    previous_scan_id=previous,
                    min_severity=Severity(sub.min_severity),
                    new=tuple(mine),
                    resolved=tuple(gone),
                    muted=hidden,
                )
                plans.append((row.id, sub.channel_id, data))
            return plans

    def process(self, scan_id: int) -> int:
        """Post the findings alerts of a finished scan; returns how many channels got one."""
        deliverer = self._deliverer()
        if deliverer is None:
            return 0
        try:
            plans = self._plan(scan_id)
        except IntegrityError:  # another process posted this scan's findings alerts
            log.info("findings alerts of scan %s were sent already", scan_id)
            return 0
        posted = 0
        for alert_id, channel, data in plans:
            payloads = build_findings_alert(data) if data.new else []
            replies = build_resolved_reply(data)
            if not payloads:  # only resolved findings: one message, its list in the thread
                payloads, replies = replies[:1], replies[1:]
            top = deliverer.post(channel, payloads[0])
            if not top.ok or not top.ts:
                log.warning("findings alert of scan %s to %s: %s", scan_id, channel, top.error)
                continue
            for payload in [*payloads[1:], *replies]:
                deliverer.post(channel, payload, thread_ts=top.ts)
            with self.db.unit_of_work() as s:
                row = FindingsAlertRepo(s).get(alert_id)
                if row is not None:
                    row.ts = top.ts
            posted += 1
        return posted
