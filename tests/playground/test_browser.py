"""The playground in a real browser: `cspm-bot playground` started as a user starts it, and
Debian's Chromium (headless, through Playwright) clicking through every screen.

Screenshots of each step are saved under ``test-artifacts/playground/`` (the path is printed).
A Block Kit element the page cannot render is marked on the page, and fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "playground"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`cspm-bot playground` in its own process; yields the page's address."""
    home = tmp_path_factory.mktemp("playground")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "SLACK_", "CSPM_"))
    }
    env.update(
        XDG_DATA_HOME=str(home / "data"),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    log = (home / "playground.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "playground", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    try:
        while "Playground ready" not in (home / "playground.log").read_text():
            assert proc.poll() is None, (home / "playground.log").read_text()
            assert time.monotonic() < deadline, "the playground did not start in 120 s"
            time.sleep(0.2)
        printed = (home / "playground.log").read_text()
        assert f"open {url}" in printed  # the address a user is told to open
        assert str(home / "data" / "cspm-bot" / "playground") in printed  # its own folder
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


class Screens:
    """Saves numbered screenshots and checks every screen renders all its blocks."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.n = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        print(f"\nplayground screenshots: {ARTIFACTS}")

    def shot(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.n:02d}-{name}.png"))
        unknown = self.page.locator("[data-unknown]")
        assert unknown.count() == 0, f"unrendered Block Kit on {name}: {unknown.all_inner_texts()}"


def _last_message(page: Any) -> Any:
    return page.locator("#messages > .msg").last


def test_every_screen_in_a_browser(playground: str, browser: Any) -> None:
    from playwright.sync_api import expect

    # The first reply waits for the bot's worker process to warm up: allow it more than
    # Playwright's default 5 s for an expectation.
    expect.set_options(timeout=20_000)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    screens = Screens(page)
    page.goto(playground)
    expect(page.locator("#channel-header")).to_have_text("# cspm-playground")
    expect(page.locator(".empty")).to_contain_text("/cspm help")

    # the projects list: one row per project, with the four status emoji
    page.fill("#composer-input", "/cspm projects")
    page.press("#composer-input", "Enter")
    projects = _last_message(page)
    expect(projects.locator(".bk-header")).to_have_text("Scan projects")
    text = projects.inner_text()
    for emoji in ("🟢", "🟠", "🔴", "⚪"):  # Completed, Partial, Failed, Stopped
        assert emoji in text, f"status emoji {emoji} missing from the projects list:\n{text}"
    for name in ("web-prod", "payments", "billing-legacy", "data-lake"):
        assert name in text
    screens.shot("projects")

    # Jobs expands the row in place, and collapses again
    payments = projects.locator('.bk-section:has-text("payments") ~ .bk-actions').first
    payments.locator("button", has_text="Jobs").click()
    expect(projects.locator("button", has_text="Hide jobs")).to_have_count(1)
    expect(projects).to_contain_text("eu-west-1")
    screens.shot("jobs-expanded")
    projects.locator("button", has_text="Hide jobs").click()
    expect(projects.locator("button", has_text="Hide jobs")).to_have_count(0)

    # History of the failed project, the ⋯ menu, Error
    page.fill("#composer-input", "/cspm history billing-legacy")
    page.press("#composer-input", "Enter")
    history = _last_message(page)
    expect(history).to_contain_text("History")
    expect(history).to_contain_text("Failed")
    screens.shot("history")
    history.locator(".bk-overflow > button").first.click()
    menu = history.locator(".bk-overflow-menu").first
    expect(menu).to_be_visible()
    screens.shot("history-overflow")
    menu.locator("button", has_text="Error").click()

    modal = page.locator("#modal")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("authentication failed", ignore_case=True)
    screens.shot("error-log")
    # expand an error entry in place
    expand = modal.locator(".bk-section .bk-button").first
    expand.click()
    expect(modal).to_contain_text("Fix credentials")
    screens.shot("error-expanded")

    # the guided replacement: bad credentials, then the sandbox's good ones
    modal.locator("button", has_text="Fix credentials").first.click()
    expect(modal).to_contain_text("cannot be edited")
    screens.shot("replace-intro")
    _submit_or_next(page)
    key_field, secret_field = _field(page, "Access key ID"), _field(page, "Secret access key")
    expect(key_field).to_be_visible()
    screens.shot("replace-form")
    # malformed input: inline field errors
    key_field.fill("not-a-key")
    secret_field.fill("x")
    modal_submit(page)
    expect(modal.locator(".bk-error").first).to_be_visible()
    screens.shot("replace-field-errors")
    # well-formed but wrong: the sandbox refuses them, nothing is deleted
    _field(page, "Access key ID").fill("AKIA" + "Q" * 16)
    _field(page, "Secret access key").fill("w" * 40)
    modal_submit(page)
    expect(modal).to_contain_text("Try again", timeout=30_000)
    screens.shot("replace-refused")
    modal.locator("button", has_text="Try again").click()
    key_id, secret = _sandbox_aws_key(page)
    _field(page, "Access key ID").fill(key_id)
    _field(page, "Secret access key").fill(secret)
    modal_submit(page)
    expect(modal).to_contain_text("Re-run", timeout=30_000)
    screens.shot("replace-done")
    modal.locator("button", has_text="Re-run").first.click()
    expect(modal).to_contain_text("direct messages")
    screens.shot("rerun-started")
    page.locator("#modal .modal-foot button", has_text="Done").click()
    # closing a pushed view goes back to the one below it, as in Slack
    expect(modal).to_contain_text("Error log")
    page.locator("#modal .modal-foot button").first.click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    page.locator("#channel-list a", has_text="CSPM (messages)").click()
    expect(page.locator("#messages")).to_contain_text("billing-legacy")
    expect(page.locator("#messages")).to_contain_text("Completed", timeout=60_000)
    screens.shot("rerun-completed")
    page.locator("#channel-list a", has_text="cspm-playground").click()
    expect(page.locator("#channel-header")).to_have_text("# cspm-playground")
    expect(page.locator("#messages > .msg").first).to_contain_text("Scan projects")

    # Stop a running scan (with its confirm dialog)
    progress = _send(page, "/cspm scan data-lake")
    screens.shot("scan-started")
    stop = progress.locator("button", has_text="Stop")
    expect(stop).to_be_visible()
    stop.click()
    expect(page.locator("#confirm")).to_contain_text("Stop this scan?")
    screens.shot("stop-confirm")
    page.locator("#confirm button", has_text="Stop scan").click()
    expect(page.locator("#messages")).to_contain_text("Stopped", timeout=60_000)
    screens.shot("stopped")

    # Contact support from a failed scan's error log
    page.fill("#composer-input", "/cspm errors corp-subscriptions")
    page.press("#composer-input", "Enter")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("temporary", ignore_case=True)
    modal.locator("button", has_text="Contact support").first.click()
    expect(modal).to_contain_text("support", ignore_case=True)
    screens.shot("support-form")
    modal_submit(page)
    expect(modal).to_contain_text("Error log")  # the submitted view closed; the log remains
    page.locator("#modal .modal-foot button").first.click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    page.locator("#channel-list a", has_text="cspm-support").click()
    expect(page.locator("#messages")).to_contain_text("corp-subscriptions")
    screens.shot("support-posted")

    # App Home
    page.locator("#open-home").click()
    expect(page.locator("#home .bk-blocks")).to_be_visible()
    expect(page.locator("#home")).to_contain_text("Cloud security posture")
    expect(page.locator("#home")).to_contain_text("analytics")  # still failing: a permission
    screens.shot("app-home")

    # the read-only user is refused
    page.locator("#channel-list a", has_text="cspm-playground").click()
    expect(page.locator("#channel-header")).to_have_text("# cspm-playground")
    page.select_option("#user-switch", "U0READONLY")
    expect(page.locator("#user-role")).to_contain_text("read-only")
    page.fill("#composer-input", "/cspm scan web-prod")
    page.press("#composer-input", "Enter")
    refusal = _last_message(page)
    expect(refusal).to_contain_text("operator", ignore_case=True)
    expect(refusal).to_contain_text("Only visible to you")
    screens.shot("read-only-refused")
    page.close()


def _send(page: Any, text: str) -> Any:
    """Type `text` in the composer; returns the new message it brought (a bounded wait)."""
    before = page.locator("#messages > .msg").count()
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")
    page.wait_for_function(
        f"document.querySelectorAll('#messages > .msg').length > {before}", timeout=20_000
    )
    return page.locator("#messages > .msg").nth(before)


def _field(page: Any, label: str) -> Any:
    """The text field of the modal's input block labelled `label`."""
    block = page.locator("#modal .bk-input").filter(
        has=page.locator("label", has_text=re.compile(f"^{re.escape(label)}"))
    )
    return block.locator("input, textarea").first


def modal_submit(page: Any) -> None:
    page.locator("#modal .modal-foot .bk-button.primary").click()


def _submit_or_next(page: Any) -> None:
    """The intro of the replacement moves on with its submit (or a Continue button)."""
    body_next = page.locator("#modal .modal-body button", has_text="Continue")
    if body_next.count():
        body_next.first.click()
    else:
        modal_submit(page)


def _sandbox_aws_key(page: Any) -> tuple[str, str]:
    note = page.locator(".note", has_text="Sandbox AWS credentials").locator("pre").inner_text()
    key_id = re.search(r"Access key ID: (\S+)", note)
    secret = re.search(r"Secret access key: (\S+)", note)
    assert key_id and secret, note
    return key_id.group(1), secret.group(1)
