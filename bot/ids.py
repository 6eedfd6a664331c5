"""The one registry of Slack identifiers: every action_id, callback_id and block_id.

Each identifier is a `StrEnum` member named ``domain.verb`` and carries no data: whatever an
interaction needs (a project id, a page number, the state of a modal flow) travels in the
element's ``value`` or the view's ``private_metadata`` through `bot.codec`.

Handlers register listeners with these members (``app.action(ScanAction.RUN)``), builders put
them in payloads, and the test validator rejects any id that is not registered here.
"""

from __future__ import annotations

from enum import StrEnum


class ProjectAction(StrEnum):
    """Buttons and menus on the `/cspm projects` list."""

    JOBS = "project.jobs"  # expand / collapse a row's jobs in place (value: RowState)
    HISTORY = "project.history"  # open a project's scan history (value: ProjectRef)
    FINDINGS = "project.findings"  # findings of a project's latest scan (value: ProjectRef)
    FILTER = "project.filter"  # status filter select (option value: FilterRef)
    REFRESH = "project.refresh"  # re-render the list in place (value: PageRef)
    SHOW = "project.show"  # post a new projects list, e.g. from Home or a digest (PageRef)
    RUN = "project.run"  # run a row's project, then redraw the list in place (value: RowState)


class ScanAction(StrEnum):
    """Starting and stopping scans."""

    RUN = "scan.run"  # start a scan of a project (value: ProjectRef)
    STOP = "scan.stop"  # stop a running scan, behind a confirm dialog (value: ScanRef)
    RERUN = "scan.rerun"  # run the project of a finished scan again (value: ScanRef)
    RERUN_CONNECTOR = "scan.rerun_connector"  # re-run every project of a connector (ConnectorRef)


class HistoryAction(StrEnum):
    """The scan history list."""

    MENU = "history.menu"  # overflow menu on each row (option value: HistoryChoice)
    REFRESH = "history.refresh"  # re-render the history message in place (value: ProjectRef)


class ErrorLogAction(StrEnum):
    """Opening the error log modal and expanding its entries."""

    OPEN = "errorlog.open"  # open the error log of a scan (value: ScanRef)
    EXPAND = "errorlog.expand"  # expand one entry in place (value: EntryRef)
    COLLAPSE = "errorlog.collapse"  # collapse it again (value: EntryRef)


class ErrorLogView(StrEnum):
    """Callback id of the error log modal (private_metadata: ErrorLogState)."""

    MODAL = "errorlog.modal"


class FindingsAction(StrEnum):
    """Findings of one scan."""

    OPEN = "findings.open"  # findings summary of a scan (value: ScanRef)
    PREV = "findings.prev"  # the previous page of the findings view (value: FindingsPageRef)
    NEXT = "findings.next"  # the next page of the findings view (value: FindingsPageRef)


class FindingsView(StrEnum):
    """Callback id of the findings modal (private_metadata: ScanRef)."""

    MODAL = "findings.modal"


class ConnectorAction(StrEnum):
    """Buttons on the connectors list and in the connector modals."""

    CREATE = "connector.create"  # open the new-connector modal (no value)
    REPLACE = "connector.replace"  # start the guided replacement (value: ConnectorRef)
    RETRY = "connector.retry"  # back to the form after a failed validation (view metadata)
    VALIDATE = "connector.validate"  # validate a saved connector again (value: ConnectorRef)
    DELETE = "connector.delete"  # delete, behind a confirm dialog (value: ConnectorRef)
    LIST = "connector.list"  # show the connectors list (no value)
    DISCOVER = "connector.discover"  # one project per account found (value: ConnectorRef)


class ConnectorView(StrEnum):
    """Callback ids of the connector modals (private_metadata: CreateFlowState/ReplaceFlowState)."""

    CREATE_SUBMIT = "connector.create.submit"  # the plain new-connector form
    REPLACE_EXPLAIN = "connector.replace.explain"  # step 1: credentials cannot be edited
    REPLACE_SUBMIT = "connector.replace.submit"  # step 2: the provider-specific form
    VALIDATING = "connector.validating"  # step 3: "Validating…" while the cloud answers
    RESULT = "connector.result"  # step 4/5: success or failure


class ConnectorInput(StrEnum):
    """Block ids (and, identically, action ids) of the connector form's fixed inputs.

    Each provider's credential inputs get ids of the same shape, ``connector.field.<name>``,
    from its form fields (`connector_field`); ``<name>`` is the field name used in
    `InputError.fields`.
    """

    NAME = "connector.field.name"
    PROVIDER = "connector.field.provider"

    @property
    def field_name(self) -> str:
        """The form field name, e.g. ``"provider"``."""
        return field_name(self.value)


CONNECTOR_FIELD_PREFIX = "connector.field."


def connector_field(name: str) -> str:
    """The block/action id of a connector form input, e.g. ``connector.field.client_secret``."""
    return CONNECTOR_FIELD_PREFIX + name


def field_name(block_id: str) -> str:
    """The form field name of a connector input id."""
    return block_id.removeprefix(CONNECTOR_FIELD_PREFIX)


def is_connector_field(value: str) -> bool:
    """True for a connector form input id (fixed or provider-specific)."""
    return value.startswith(CONNECTOR_FIELD_PREFIX) and len(value) > len(CONNECTOR_FIELD_PREFIX)


class SupportAction(StrEnum):
    """Contact support."""

    OPEN = "support.open"  # open the pre-filled support modal (value: SupportRef)


class SupportView(StrEnum):
    """Callback id of the support modal (private_metadata: SupportRef)."""

    SUBMIT = "support.submit"


class SupportInput(StrEnum):
    """Block ids (and action ids) of the support modal inputs."""

    DESCRIPTION = "support.field.description"
    DETAILS = "support.field.details"


class MuteAction(StrEnum):
    """Muting findings."""

    MUTE = "mute.open"  # "Mute a finding…" of an alert, Mute in the findings view (FindingRef)
    UNMUTE = "mute.lift"  # Unmute in `/cspm mutes` (value: MuteRef)


class MuteView(StrEnum):
    """Callback id of the mute modal (private_metadata: FindingRef)."""

    SUBMIT = "mute.submit"


class MuteInput(StrEnum):
    """Block ids (and action ids) of the mute modal inputs."""

    REASON = "mute.field.reason"
    DAYS = "mute.field.days"


class SubscriptionAction(StrEnum):
    """Buttons of `/cspm subscriptions`."""

    REMOVE = "subscription.remove"  # remove a channel subscription (value: SubscriptionRef)


class NoticeView(StrEnum):
    """Callback ids of the notice modals that are not part of a flow (no private_metadata)."""

    NOT_ALLOWED = "notice.not_allowed"  # a permission refusal: only a Close button


class PageAction(StrEnum):
    """Prev / Next on every paged list (value: PageRef, whose `kind` says which list)."""

    NEXT = "page.next"
    PREV = "page.prev"


class HomeAction(StrEnum):
    """Quick actions on the App Home dashboard."""

    REFRESH = "home.refresh"  # publish the dashboard again (no value)
    HELP = "home.help"  # show the help text (no value)


ALL_ENUMS: tuple[type[StrEnum], ...] = (
    ProjectAction,
    ScanAction,
    HistoryAction,
    ErrorLogAction,
    ErrorLogView,
    FindingsAction,
    FindingsView,
    ConnectorAction,
    ConnectorView,
    ConnectorInput,
    SupportAction,
    SupportView,
    SupportInput,
    NoticeView,
    SubscriptionAction,
    MuteAction,
    MuteView,
    MuteInput,
    PageAction,
    HomeAction,
)
"""Every identifier enum, in one place (the validator and the uniqueness test use it)."""

ALL_IDS: frozenset[str] = frozenset(str(member) for enum in ALL_ENUMS for member in enum)
"""Every registered identifier string (provider form inputs: see `is_known`)."""


def is_known(value: str) -> bool:
    """True for a registered identifier or a connector form input id."""
    return value in ALL_IDS or is_connector_field(value)
