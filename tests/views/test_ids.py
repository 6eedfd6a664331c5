"""The identifier registry: unique, `domain.verb`, no data inside."""

from __future__ import annotations

import re
from collections import Counter

from bot import ids


def test_every_identifier_is_unique_across_enums() -> None:
    values = [str(m) for enum in ids.ALL_ENUMS for m in enum]
    duplicates = [v for v, n in Counter(values).items() if n > 1]
    assert duplicates == []
    assert set(values) == ids.ALL_IDS


def test_every_identifier_is_domain_dot_verb_without_data() -> None:
    pattern = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
    for value in ids.ALL_IDS:
        assert pattern.match(value), value
        assert not re.search(r"\d", value), value  # no ids, pages or other data


def test_secret_inputs_are_registered_inputs() -> None:
    from bot import providers
    from bot.views.connectors import is_secret_input

    secret = {
        ids.connector_field(f.name)
        for spec in providers.specs()
        for f in spec.form_fields
        if f.secret
    }
    assert {"connector.field.secret_access_key", "connector.field.client_secret"} <= secret
    assert all(is_secret_input(i) and ids.is_known(i) for i in secret)
    assert not is_secret_input(ids.connector_field("access_key_id"))
    assert ids.field_name(ids.connector_field("secret_access_key")) == "secret_access_key"


def test_documented_examples_exist() -> None:
    assert ids.ProjectAction.JOBS == "project.jobs"
    assert ids.ScanAction.RUN == "scan.run"
    assert ids.ScanAction.STOP == "scan.stop"
    assert ids.ScanAction.RERUN == "scan.rerun"
    assert ids.HistoryAction.MENU == "history.menu"
    assert ids.ErrorLogAction.EXPAND == "errorlog.expand"
    assert ids.ConnectorAction.REPLACE == "connector.replace"
    assert ids.ConnectorView.REPLACE_SUBMIT == "connector.replace.submit"
