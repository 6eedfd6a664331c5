"""Whatever names, messages and details the data holds, every builder stays within limits."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import providers
from bot.codec import CreateFlowState, ErrorLogState, ReplaceFlowState, SupportRef
from bot.domain import CloudError, ErrorCategory, JobStatus, ScanStatus, Severity
from bot.records import (
    ConnectorInfo,
    ErrorEntryView,
    ErrorLogData,
    FindingItem,
    FindingsPage,
    HistoryData,
    HomeData,
    JobRow,
    Page,
    ProjectInfo,
    ProjectRow,
    ReplaceOutcome,
    ScanRow,
    SupportBundle,
    SupportTicket,
    ValidationFailure,
)
from bot.views import (
    connectors,
    errorlog,
    findings,
    history,
    home,
    projects,
    scanprogress,
    support,
)
from bot.views.common import error_message, usage_message
from tests.support import assert_valid_message, assert_valid_view

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(max_size=300) | st.sampled_from(["", " ", "<!channel>", "&" * 300, "```" * 50])
long_texts = st.text(max_size=4000) | st.text(alphabet="&<>`*\n", max_size=6000)
ids_ = st.integers(min_value=1, max_value=2**53)
times = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
statuses = st.sampled_from(ScanStatus)
opt_statuses = st.none() | statuses

job_rows = st.builds(
    JobRow, texts, st.sampled_from(JobStatus), texts, st.none() | st.sampled_from(ErrorCategory)
)
project_rows = st.builds(
    ProjectRow,
    ids_,
    texts,
    st.sampled_from(providers.names()),
    texts,
    opt_statuses,
    texts,
    st.none() | ids_,
    times,
    st.none() | st.lists(job_rows, max_size=80),
)
scan_rows = st.builds(
    ScanRow,
    ids_,
    ids_,
    statuses,
    texts,
    st.none() | texts,
    times,
    times,
    times,
    st.integers(0, 10**4),
    st.integers(0, 10**4),
    st.integers(0, 10**4),
    texts,
)
entries = st.builds(
    ErrorEntryView,
    ids_,
    texts,
    st.sampled_from(ErrorCategory),
    texts,
    long_texts,
    long_texts,
    long_texts,
    times,
    st.none() | ids_,
    st.none() | texts,
)
cloud_errors = st.builds(
    CloudError,
    st.sampled_from(ErrorCategory),
    texts,
    long_texts,
    long_texts,
    long_texts,
    st.lists(texts, max_size=20).map(tuple),
)
connector_infos = st.builds(
    ConnectorInfo,
    ids_,
    texts,
    st.sampled_from(providers.names()),
    texts,
    texts,
    st.lists(texts, max_size=300),
    times,
    st.none() | st.booleans(),
    st.none() | cloud_errors,
    project_count=st.none() | st.integers(0, 1_000_000),
)
project_infos = st.builds(ProjectInfo, ids_, texts, st.sampled_from(providers.names()), texts)
replace_states = st.builds(ReplaceFlowState, ids_, st.sampled_from(providers.names()),
                           st.none() | st.just("C0123456789"), st.none(), st.none() | ids_,
                           st.integers(0, 10))  # fmt: skip


def pages(items):
    return st.builds(
        lambda rows, page, size: Page.of(rows, page, size),
        st.lists(items, max_size=40),
        st.integers(0, 5),
        st.sampled_from([projects.PAGE_SIZE]),
    )


@FAST
@given(pages(project_rows), opt_statuses)
def test_projects(page, status_filter) -> None:
    assert_valid_message(projects.build_projects(page, status_filter))


@FAST
@given(project_infos, st.lists(scan_rows, max_size=60), st.integers(0, 5))
def test_history(project, scans, page) -> None:
    data = HistoryData(project, Page.of(scans, page, history.PAGE_SIZE))
    assert_valid_message(history.build_history(data))


@FAST
@given(
    project_infos,
    scan_rows,
    st.lists(entries, max_size=30),
    st.frozensets(ids_, max_size=10),
    st.booleans(),
)
def test_error_log(project, scan, items, expanded, expand_all) -> None:
    if expand_all:
        expanded = frozenset(e.entry_id for e in items)
    view = errorlog.build_error_log(
        ErrorLogData(project, scan, items), ErrorLogState(scan.scan_id, expanded)
    )
    assert_valid_view(view)


@FAST
@given(
    st.lists(connector_infos, max_size=30),
    st.integers(0, 4),
    replace_states,
    cloud_errors,
    st.integers(1, 5),
)
def test_connectors(items, page, state, error, attempts) -> None:
    assert_valid_message(connectors.build_connectors(Page.of(items, page, connectors.PAGE_SIZE)))
    for c in items[:3]:
        assert_valid_view(connectors.build_replace_explain(c, state))
        assert_valid_view(connectors.build_replace_form(c, state))
        assert_valid_view(connectors.build_validating(c.name, c.provider, state))
        assert_valid_view(
            connectors.build_replace_success(ReplaceOutcome(c.name, c, c.projects), state)
        )
        assert_valid_view(connectors.build_create_success(c))
        assert_valid_message(connectors.build_validate_result(c, error))
        assert_valid_message(connectors.build_deleted(c.name, c.projects))
        failure = ValidationFailure(c.name, c.provider, error, attempts)
        assert_valid_view(connectors.build_validation_failed(failure, state))
        assert_valid_view(connectors.build_validation_failed(failure, CreateFlowState()))


@FAST
@given(
    ids_,
    texts,
    statuses,
    times,
    st.dictionaries(st.sampled_from(Severity), st.integers(0, 10**6)),
    st.lists(
        st.builds(
            FindingItem,
            ids_,
            texts,
            texts,
            st.sampled_from(Severity),
            st.just(False),
            texts,
            texts,
            texts,
            st.dictionaries(texts, st.lists(texts, max_size=5).map(tuple), max_size=3),
            st.none() | times,
        ),
        max_size=findings.PAGE_SIZE,
    ),
    st.integers(0, 10**6),
)
def test_findings(scan_id, name, status, finished, counts, items, page) -> None:
    scan = ScanRow(scan_id, 1, status, finished_at=finished, project_name=name)
    pages = page + 2
    data = FindingsPage(scan, counts, 3, 5, Page(items, page, pages, pages * len(items)))
    assert_valid_message(findings.build_findings(data))
    assert_valid_view(findings.build_findings_modal(data))


@FAST
@given(
    st.none() | ids_,
    texts,
    st.sampled_from(providers.names()),
    texts,
    texts,
    opt_statuses,
    texts,
    st.lists(entries, max_size=30),
    long_texts,
    texts,
)
def test_support(scan_id, name, provider, conn, account, status, message, items, desc, ref) -> None:
    bundle = SupportBundle(
        scan_id, name, provider, conn, account, status, message, None, None, items
    )
    assert_valid_view(support.build_support_modal(bundle, SupportRef(scan_id)))
    ticket = SupportTicket(
        ref or "R-1", "U024BE7LH", desc, support.render_bundle(bundle), name, scan_id
    )
    assert_valid_message(support.build_support_post(ticket))
    assert_valid_message(support.build_support_confirmation(ref or "R-1"))


@FAST
@given(
    st.dictionaries(opt_statuses, st.integers(0, 10**6)),
    st.lists(project_rows, max_size=30),
    st.lists(connector_infos, max_size=20),
    st.integers(0, 1000),
    times,
)
def test_home(counts, failing, attention, running, as_of) -> None:
    assert_valid_view(home.build_home(HomeData(counts, failing, attention, running, as_of)))


progresses = st.builds(
    ScanRow, scan_id=ids_, project_id=ids_, project_name=texts, status=statuses,
    jobs_total=st.integers(0, 10**4), jobs_ok=st.integers(0, 10**4),
    jobs_failed=st.integers(0, 10**4), started_at=times, finished_at=times,
    requested_by=st.none() | texts, status_message=texts,
    trigger=st.sampled_from(["manual", "schedule", "rerun", "cli", "retry"]),
)  # fmt: skip


@FAST
@given(progresses)
def test_scan_progress(progress) -> None:
    assert_valid_message(scanprogress.build_scan_progress(progress))


@FAST
@given(long_texts, st.lists(texts, max_size=10), st.none() | texts)
def test_replies(problem, suggestions, reference) -> None:
    assert_valid_message(usage_message(problem or "?", suggestions))
    assert_valid_message(error_message(problem or "?", reference))
