"""Connectors (Integrations → Connected Providers) and the guided replacement.

- `build_connectors`: the list, with Replace / Validate / Delete (confirm) on each row, and
  Discover accounts for providers with account discovery.
- `build_discovered`: what discovery did (one project per account: created, updated, kept).
- `build_create_connector`: the plain new-connector modal (provider select, then its fields).
- The guided replacement: `build_replace_explain` (step 1: saved credentials
  cannot be edited; the connector, its account and every project using it),
  `build_replace_form` (step 2), `build_validating` (step 3, the immediate ack),
  `build_replace_success` / `build_create_success` / `build_validation_failed` (steps 4-5).
- `build_field_errors`: a ``response_action: errors`` body from `InputError.fields`.
- `read_form`: the submitted field values, by field name.

Secrets are write-only: secret inputs never get an ``initial_value`` and nothing secret is
ever put in a value, private_metadata or text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot import ids, providers
from bot.codec import (
    ConnectorRef,
    CreateFlowState,
    PageKind,
    ReplaceFlowState,
    SupportRef,
    encode,
    encode_metadata,
)
from bot.domain import CloudError, ErrorCategory, Provider
from bot.records import (
    ConnectorInfo,
    DiscoveryResult,
    Page,
    ReplaceOutcome,
    ValidationFailure,
)
from bot.views.common import (
    MESSAGE_MAX_BLOCKS,
    TEXT_BUDGET,
    Block,
    Payload,
    actions,
    button,
    category_emoji,
    category_title,
    code_block,
    confirm_dialog,
    context,
    divider,
    error_line,
    fields_section,
    header,
    join_limited,
    md,
    message,
    modal,
    option,
    paging_blocks,
    plain,
    section,
    slack_date,
    truncate,
)


def cloud_name(provider: str) -> str:
    """How a provider is named in text ("AWS", "Google Cloud")."""
    try:
        return providers.get(provider).display_name
    except KeyError:  # a connector of a provider that is no longer installed
        return provider


def validation_call(provider: str) -> str:
    """What the live validation of a provider's credentials does, in words."""
    return providers.get(provider).validation_call


def is_secret_input(block_id: str) -> bool:
    """True for a connector input that receives secret material (never echoed)."""
    name = ids.field_name(block_id)
    return any(f.name == name and f.secret for spec in providers.specs() for f in spec.form_fields)


NAME_MAX = 60
PROJECT_NAME_MAX = 80
FIELD_ERROR_MAX = 150
_FIXED_BLOCKS = 6  # header, context, actions, divider, paging context + actions
_ROW_BLOCKS = 3
_ROW_TEXT_MAX = 300 + 400 + 200 + 60 + 300  # section, projects, validation, buttons, confirm
PAGE_SIZE = min(
    (MESSAGE_MAX_BLOCKS - _FIXED_BLOCKS) // _ROW_BLOCKS,
    (TEXT_BUDGET - 400) // _ROW_TEXT_MAX,
)
"""Connectors per page of the list."""


# --------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------


def _validation_text(c: ConnectorInfo) -> str:
    if c.last_validation_ok is None:
        return "never validated"
    if c.last_validation_ok:
        return f":white_check_mark: validated {slack_date(c.last_validated_at)}"
    error = f": {error_line(c.last_error, 200)}" if c.last_error is not None else ""
    return f":x: validation failed {slack_date(c.last_validated_at)}{error}"


def _projects_text(projects: Sequence[str], limit: int, total: int | None = None) -> str:
    """ "used by N projects: a, b, …and M more" within `limit` characters; `total` is how
    many there are when `projects` names only the first ones."""
    total = len(projects) if total is None else max(total, len(projects))
    if not total:
        return "used by no project"
    names = [md(p, PROJECT_NAME_MAX) for p in projects]
    head = f"used by {total} project{'s' * (total != 1)}: "
    text = join_limited(names, limit - len(head), "…and {n} more", total=total)
    return head + text.replace("\n", ", ")


def _identity(c: ConnectorInfo) -> str:
    parts = [cloud_name(c.provider)]
    if c.fingerprint:
        parts.append(f"`{md(c.fingerprint, 40)}`")
    parts.append(f"account `{md(c.account_id, 60)}`" if c.account_id else "account unknown")
    return " · ".join(parts)


def _delete_confirm(c: ConnectorInfo) -> Block:
    n = c.projects_total
    impact = (
        f"{n} project{'s' * (n != 1)} use{'s' * (n == 1)} it and will fail until pointed at "
        "another connector (use Replace to keep them working)."
        if n
        else "No project uses it."
    )
    return confirm_dialog(
        "Delete this connector?",
        f"*{md(c.name, NAME_MAX)}*: its secret is destroyed and cannot be recovered. {impact}",
        confirm="Delete",
        deny="Cancel",
        danger=True,
    )


def has_discovery(provider: str) -> bool:
    """True when the provider can list its connectors' accounts (discovery)."""
    try:
        return bool(providers.get(provider).discovery)
    except KeyError:
        return False


def _row(c: ConnectorInfo) -> list[Block]:
    ref = encode(ConnectorRef(c.connector_id))
    flag = ":warning: " if c.needs_attention else ""
    buttons = [
        button(
            "Replace",
            ids.ConnectorAction.REPLACE,
            ref,
            style="primary" if c.needs_attention else None,
        ),
        button("Validate", ids.ConnectorAction.VALIDATE, ref),
    ]
    if has_discovery(c.provider):
        buttons.append(button("Discover accounts", ids.ConnectorAction.DISCOVER, ref))
    buttons.append(
        button(
            "Delete",
            ids.ConnectorAction.DELETE,
            ref,
            style="danger",
            confirm=_delete_confirm(c),
        )
    )
    return [
        section(f"{flag}*{md(c.name, NAME_MAX)}*\n{_identity(c)}"),
        context(_projects_text(c.projects, 400, c.projects_total), _validation_text(c)),
        actions(*buttons),
    ]


def build_connectors(page: Page[ConnectorInfo]) -> Payload:
    """The connectors list message (`PAGE_SIZE` per page), with a New connector button."""
    blocks: list[Block] = [
        header("Connected providers"),
        context(
            f"{page.total_items} connector{'s' * (page.total_items != 1)}. Saved credentials "
            "cannot be edited: Replace creates a new connector and moves the projects to it."
        ),
        actions(button("New connector", ids.ConnectorAction.CREATE, style="primary")),
        divider(),
    ]
    if not page.items:
        blocks.append(section("No connectors yet. Press *New connector* to connect a cloud."))
    for c in page.items[:PAGE_SIZE]:
        blocks.extend(_row(c))
    blocks.extend(paging_blocks(page, PageKind.CONNECTORS, noun="connectors"))
    return message(f"Connected providers: {page.total_items}", blocks)


def build_validate_result(connector: ConnectorInfo, error: CloudError | None = None) -> Payload:
    """The reply to Validate: it works (and which account), or the classified error (by
    default the connector's own last one)."""
    name = md(connector.name, NAME_MAX)
    if error is None and not connector.last_validation_ok:
        error = connector.last_error
    if error is None:
        account = f" (account `{md(connector.account_id, 60)}`)" if connector.account_id else ""
        return message(
            f"{connector.name} works",
            [section(f":white_check_mark: *{name}* works{account}.")],
        )
    blocks = [
        section(
            f":x: *{name}*: {cloud_name(connector.provider)} rejected the saved credentials.\n"
            f"{category_emoji(error.category)} *{category_title(error.category)}* · "
            f"`{md(error.code or 'none', 120)}` — {md(error.message, 600)}"
        ),
    ]
    if error.missing_permissions:
        missing = ", ".join(error.missing_permissions)
        blocks.append(context(f"Missing permission: `{md(missing, 300)}`"))
    if error.remediation.strip():
        blocks.append(context(md(error.remediation, 400)))
    if error.category is ErrorCategory.INVALID_CREDENTIALS:
        blocks.append(
            actions(
                button(
                    "Fix credentials",
                    ids.ConnectorAction.REPLACE,
                    encode(ConnectorRef(connector.connector_id)),
                    style="primary",
                )
            )
        )
    return message(f"{connector.name}: validation failed", blocks)


_CHANGES = {"created": ":new: created", "updated": ":arrows_counterclockwise: updated"}


def build_discovered(result: DiscoveryResult) -> Payload:
    """The reply to Discover accounts: how many accounts, and one line per project (created,
    updated or kept as it was)."""
    c = result.connector
    n = len(result.projects)
    summary = (
        f":mag: *{md(c.name, NAME_MAX)}*: {n} account{'s' * (n != 1)} found in "
        f"{cloud_name(c.provider)} — {result.count('created')} project(s) created, "
        f"{result.count('updated')} updated, {result.count('unchanged')} unchanged."
    )
    blocks = [section(summary)]
    if not result.projects:
        blocks.append(
            context(
                f"Discovery lists {md(providers.get(c.provider).discovery, 200)}; the "
                "connector's identity reached none besides its own."
            )
        )
    lines = [
        f"*{md(p.name, PROJECT_NAME_MAX)}* · `{md(p.target_id, 60)}` {md(p.target_name, 60)}"
        + (f" — {_CHANGES[p.change]}" if p.change in _CHANGES else "")
        for p in result.projects
    ]
    if lines:
        blocks.append(section(join_limited(lines, 2900, "…and {n} more projects")))
        blocks.append(
            context(
                "Each project scans one account through this connector: run it with "
                "`/cspm scan &lt;project&gt;`."
            )
        )
    return message(f"{c.name}: {n} accounts discovered", blocks)


def build_deleted(name: str, projects: Sequence[str] = ()) -> Payload:
    """The reply after a connector was deleted (tombstoned, secret destroyed)."""
    text = f":wastebasket: *{md(name, NAME_MAX)}* was deleted and its secret destroyed."
    blocks = [section(text)]
    if projects:
        blocks.append(
            context(
                ":warning: "
                + _projects_text(projects, 600).replace("used by", "These", 1)
                + " — they will fail until pointed at another connector."
            )
        )
    return message(f"Connector {name} deleted", blocks)


# --------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------


def _text_input(
    field: str,
    label: str,
    *,
    placeholder: str | None = None,
    hint: str | None = None,
    optional: bool = False,
    multiline: bool = False,
    max_length: int = 300,
    initial: str | None = None,
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": str(field),
        "max_length": max_length,
    }
    if multiline:
        element["multiline"] = True
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    if initial and not is_secret_input(field):  # never echo a secret
        element["initial_value"] = truncate(initial, max_length)
    block: Block = {"type": "input", "block_id": str(field), "label": plain(label, 2000)}
    block["element"] = element
    if hint:
        block["hint"] = plain(hint, 2000)
    if optional:
        block["optional"] = True
    return block


_SECRET_HINT = "Stored encrypted and never shown again, not even to you."


def provider_inputs(provider: str) -> list[Block]:
    """The credential inputs of one provider (no initial values: secrets are never echoed)."""
    blocks = []
    for field in providers.get(provider).form_fields:
        hint = " ".join(h for h in (field.hint, _SECRET_HINT if field.secret else "") if h)
        blocks.append(
            _text_input(
                ids.connector_field(field.name),
                field.label,
                placeholder=field.placeholder or None,
                hint=hint or None,
                optional=field.optional,
                multiline=field.multiline,
                max_length=field.max_length,
            )
        )
    return blocks


def _provider_select(selected: str | None) -> Block:
    names = list(providers.names())
    options = [option(cloud_name(p), p) for p in names]
    element: Block = {
        "type": "static_select",
        "action_id": str(ids.ConnectorInput.PROVIDER),
        "placeholder": plain("Choose a cloud"),
        "options": options,
    }
    if selected in names:
        element["initial_option"] = options[names.index(selected)]
    return {
        "type": "input",
        "block_id": str(ids.ConnectorInput.PROVIDER),
        "dispatch_action": True,
        "label": plain("Cloud provider"),
        "element": element,
    }


def build_create_connector(state: CreateFlowState) -> Payload:
    """The new-connector modal; the provider's fields appear once one is chosen.

    Choosing a provider dispatches a block action (``connector.field.provider``): the handler
    re-renders this view with `state.provider` set (views.update keeps typed values).
    """
    blocks: list[Block] = [
        context(
            "Credentials are validated live against the cloud before anything is saved, then "
            "stored encrypted. They can never be viewed or edited afterwards."
        ),
        _text_input(
            ids.ConnectorInput.NAME, "Connector name", placeholder="prod-aws", max_length=80
        ),
        _provider_select(state.provider),
    ]
    if state.provider is not None:
        blocks.extend(provider_inputs(state.provider))
    if state.attempts:
        blocks.insert(0, _attempt_note(state.attempts))
    return modal(
        "New connector",
        blocks,
        callback_id=ids.ConnectorView.CREATE_SUBMIT,
        submit="Validate & save",
        close="Cancel",
        private_metadata=encode_metadata(state),
    )


def _attempt_note(attempts: int) -> Block:
    return context(
        f":warning: The last credentials were rejected ({attempts} attempt"
        f"{'s' * (attempts != 1)}). Nothing was changed; enter them again."
    )


def _project_sections(projects: Sequence[str], title: str, budget: int = 6000) -> list[Block]:
    """Every project name, in as many sections as needed, within `budget` characters."""
    if not projects:
        return [section(f"*{title} (0)*\nNo project uses it.")]
    lines = [f"• {md(p, PROJECT_NAME_MAX)}" for p in projects]
    blocks: list[Block] = []
    head = f"*{title} ({len(projects)})*\n"
    chunk: list[str] = []
    used = len(head)
    for i, line in enumerate(lines):
        if used + len(line) + 1 > budget - 40:
            chunk.append(f"…and {len(lines) - i} more")
            break
        if len(head) + sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section(head + "\n".join(chunk)))
            head, chunk = "", []
        chunk.append(line)
        used += len(line) + 1
    blocks.append(section(head + "\n".join(chunk)))
    return blocks


def _connector_fields(c: ConnectorInfo) -> Block:
    return fields_section(
        [
            f"*Connector*\n{md(c.name, NAME_MAX)}",
            f"*Cloud*\n{cloud_name(c.provider)}",
            f"*Account*\n`{md(c.account_id, 100)}`" if c.account_id else "*Account*\nunknown",
            f"*Key*\n`{md(c.fingerprint, 60)}`" if c.fingerprint else "*Key*\n—",
            f"*Last validation*\n{_validation_text(c)}",
        ]
    )


def build_replace_explain(connector: ConnectorInfo, state: ReplaceFlowState) -> Payload:
    """Step 1: why the connector is replaced, not edited, and what the flow will do.

    Shows the connector, its account and every project using it. Submitting moves on to
    `build_replace_form` (``response_action: update``).
    """
    cloud = cloud_name(connector.provider)
    blocks: list[Block] = [
        section(
            ":lock: *Saved credentials cannot be edited.* To fix this connector you enter new "
            "credentials; the bot creates a new connector with them and moves every project "
            "over, so nothing is lost."
        ),
        _connector_fields(connector),
        *_project_sections(connector.projects, "Projects using it"),
        divider(),
        section(
            "*What happens next*\n"
            f"1. You enter new {cloud} credentials.\n"
            f"2. The bot checks them live ({validation_call(connector.provider)}).\n"
            "3. Only if they work: a new connector is created, the projects above are pointed "
            "at it, and the old connector is deleted and its secret destroyed.\n"
            "4. If they are rejected, nothing changes and you can try again.\n"
            "5. You can then re-run the affected projects."
        ),
    ]
    return modal(
        "Replace connector",
        blocks,
        callback_id=ids.ConnectorView.REPLACE_EXPLAIN,
        submit="Continue",
        close="Cancel",
        private_metadata=encode_metadata(state),
    )


def build_replace_form(connector: ConnectorInfo, state: ReplaceFlowState) -> Payload:
    """Step 2: the provider-specific form for the new credentials (nothing pre-filled but
    the connector name)."""
    n = len(connector.projects)
    blocks: list[Block] = [
        context(
            f"Replacing *{md(connector.name, NAME_MAX)}* ({_identity(connector)}), used by "
            f"{n} project{'s' * (n != 1)}."
        ),
        _text_input(
            ids.ConnectorInput.NAME,
            "Name of the new connector",
            initial=connector.name,
            max_length=80,
        ),
        *provider_inputs(state.provider),
        context(
            f"The credentials are checked with {validation_call(state.provider)} before "
            "anything changes, then stored encrypted."
        ),
    ]
    if state.attempts:
        blocks.insert(0, _attempt_note(state.attempts))
    return modal(
        "New credentials",
        blocks,
        callback_id=ids.ConnectorView.REPLACE_SUBMIT,
        submit="Validate",
        close="Cancel",
        private_metadata=encode_metadata(state),
    )


def build_validating(
    connector_name: str, provider: Provider, state: ReplaceFlowState | CreateFlowState
) -> Payload:
    """Step 3: the view returned at once (``response_action: update``) while the cloud answers."""
    return modal(
        "Validating…",
        [
            section(
                f":hourglass_flowing_sand: Checking the credentials for "
                f"*{md(connector_name, NAME_MAX)}* with {validation_call(provider)}…"
            ),
            context("This usually takes a few seconds. This window updates with the result."),
        ],
        callback_id=ids.ConnectorView.VALIDATING,
        private_metadata=encode_metadata(state),
    )


def build_replace_success(outcome: ReplaceOutcome, state: ReplaceFlowState) -> Payload:
    """Steps 4-5: the new connector, the projects moved to it, and a button to re-run them."""
    new = outcome.connector
    blocks: list[Block] = [
        section(
            f":white_check_mark: *{md(new.name, NAME_MAX)}* works ({_identity(new)}).\n"
            f"The old connector *{md(outcome.old_name, NAME_MAX)}* was deleted and its secret "
            "destroyed."
        ),
        *_project_sections(outcome.projects, "Projects now using it"),
    ]
    if outcome.projects:
        n = len(outcome.projects)
        blocks.append(
            actions(
                button(
                    f"Re-run {n} project{'s' * (n != 1)}",
                    ids.ScanAction.RERUN_CONNECTOR,
                    encode(ConnectorRef(new.connector_id)),
                    style="primary",
                )
            )
        )
        where = f"in <#{state.channel_id}>" if state.channel_id else "to you"
        blocks.append(context(f"Progress of the new scans is reported {where}."))
    return modal(
        "Connector replaced",
        blocks,
        callback_id=ids.ConnectorView.RESULT,
        close="Done",
        private_metadata=encode_metadata(state),
    )


def build_create_success(connector: ConnectorInfo) -> Payload:
    """The new connector was validated and saved."""
    return modal(
        "Connector saved",
        [
            section(
                f":white_check_mark: *{md(connector.name, NAME_MAX)}* works and was saved "
                f"({_identity(connector)})."
            ),
            context("Create a scan project on it to start scanning."),
        ],
        callback_id=ids.ConnectorView.RESULT,
        close="Done",
    )


def build_validation_failed(
    failure: ValidationFailure, state: ReplaceFlowState | CreateFlowState
) -> Payload:
    """The cloud rejected the new credentials: its classified error, nothing changed, retry.

    From the second failed attempt on (or for an unknown error) Contact support is offered too
    ("newly created integrations still result in authentication errors").
    """
    error = failure.error
    cloud = cloud_name(failure.provider)
    if isinstance(state, ReplaceFlowState):
        unchanged = (
            f"Nothing was changed: *{md(failure.connector_name, NAME_MAX)}* and its projects "
            "are exactly as they were."
        )
    else:
        unchanged = "Nothing was saved."
    blocks: list[Block] = [
        section(f":x: {cloud} rejected the new credentials. {unchanged}"),
        fields_section(
            [
                f"*Error*\n{category_emoji(error.category)} {category_title(error.category)}",
                f"*Provider code*\n`{md(error.code or 'none', 120)}`",
            ]
        ),
        section(f"*Message*\n{md(error.message, 600, single_line=False)}"),
    ]
    if error.detail.strip():
        blocks.append(section("*Detail*\n" + code_block(error.detail, 1500)))
    if error.remediation.strip():
        blocks.append(section(f"*What to do*\n{md(error.remediation, 400)}"))
    buttons = [button("Try again", ids.ConnectorAction.RETRY, style="primary")]
    if failure.attempts >= 2 or error.category is ErrorCategory.UNKNOWN:
        connector_id = state.connector_id if isinstance(state, ReplaceFlowState) else None
        scan_id = state.scan_id if isinstance(state, ReplaceFlowState) else None
        buttons.append(
            button(
                "Contact support",
                ids.SupportAction.OPEN,
                encode(SupportRef(scan_id=scan_id, connector_id=connector_id)),
            )
        )
        blocks.append(
            context(
                f"{failure.attempts} attempts failed. If you are sure the credentials are "
                "right, contact support: the request is pre-filled with the redacted error."
            )
        )
    blocks.append(actions(*buttons))
    return modal(
        "Validation failed",
        blocks,
        callback_id=ids.ConnectorView.RESULT,
        close="Close",
        private_metadata=encode_metadata(state),
    )


# --------------------------------------------------------------------------------------------
# Submissions
# --------------------------------------------------------------------------------------------

_FIELD_ALIASES = {"info": "service_account_json", "service_account": "service_account_json"}


def field_block_id(name: str) -> str | None:
    """The input block of a form field name (``"secret_access_key"``), or None."""
    name = ids.field_name(_FIELD_ALIASES.get(name, name))
    fixed = {f.field_name for f in ids.ConnectorInput}
    known = fixed | {f.name for spec in providers.specs() for f in spec.form_fields}
    return ids.connector_field(name) if name in known else None


def build_field_errors(
    fields: Mapping[str, str], provider: Provider | None = None, *, create: bool = False
) -> dict[str, Any]:
    """A ``response_action: errors`` body from `InputError.fields` (field name → message).

    `provider` and `create` say which form is open (the new-connector form also has the
    provider select). A field name that has no input in that form goes to its first input,
    so no message is ever dropped and no unknown block id is sent.
    """
    present: list[str] = [ids.ConnectorInput.NAME]
    if create:
        present.append(ids.ConnectorInput.PROVIDER)
    if provider is not None:
        present += [str(b["block_id"]) for b in provider_inputs(provider)]
    fallback = present[-1] if provider is None else str(provider_inputs(provider)[0]["block_id"])
    errors: dict[str, str] = {}
    for name, text in fields.items():
        block = field_block_id(name)
        block_id = str(block) if block is not None and block in present else fallback
        text = truncate(" ".join(str(text).split()) or "Invalid value.", FIELD_ERROR_MAX)
        joined = f"{errors[block_id]} {text}" if block_id in errors else text
        errors[block_id] = truncate(joined, FIELD_ERROR_MAX * 2)
    if not errors:
        errors[fallback] = "Please check this form."
    return {"response_action": "errors", "errors": errors}


def read_form(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """The submitted connector form (``view.state.values``) by field name.

    Text inputs give their raw text ("" when left empty); the provider select gives the
    provider value. The caller validates and must not log the result (it holds secrets).
    """
    out: dict[str, str] = {}
    for block_id, block in values.items():
        if not ids.is_connector_field(block_id) or not block:
            continue
        state = block.get(block_id) or {}
        if state.get("type") == "static_select":
            selected = state.get("selected_option") or {}
            out[ids.field_name(block_id)] = str(selected.get("value") or "")
        else:
            out[ids.field_name(block_id)] = str(state.get("value") or "")
    return out
