"""The web console in a real browser: Debian's Chromium, driven headless by Playwright.

The console is the real application served by uvicorn on 127.0.0.1 (an ephemeral port) over
a real SQLite file holding the handler tests' world; the browser signs in with a one-time
link, searches, opens a report and acts on it. What the action queued is then delivered by the
real delivery worker, so the test sees the message reach the department's group. Every wait is
for an element or a navigation, never a fixed time.

Set ``OBSBOT_SCREENSHOTS`` to a folder (``docs``) to save the README's screenshots.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session, col, select

from bot.core.messages import t
from storage.db import create_all, make_engine
from storage.models import Leader, Report, ReportEvent, ReportStatus
from tests.handlers.conftest import DISPATCHER, ENV_GROUP, HANDLER, make_world
from tests.handlers.harness import World
from tests.handlers.test_department import _submit
from tests.web.test_console import console, link, to_dispatch

CHROMIUM = "/usr/bin/chromium"  # Debian's package (.ci/run installs it when missing)
LEADER = 7502  # 越秀区's leader: sees the report, holds no authority over it
T = TypeVar("T")
PHONE = {"width": 390, "height": 844}


@dataclass
class Served:
    """The console running on ``world``, reachable at ``base``."""

    world: World
    base: str

    def sign_in(self, page: Page, user_id: int) -> None:
        """Open a fresh sign-in link for ``user_id`` and wait for the dashboard."""
        page.goto(self.base + link(self.world, user_id))
        page.get_by_role("heading", name=t("web.nav_dashboard")).wait_for()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A SQLite file with two reports (one returned to dispatch, one at the water group) and
    a leader; the console served by uvicorn on a socket bound to an ephemeral port."""
    sqlite_engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite'}")
    create_all(sqlite_engine)
    world = make_world(sqlite_engine, tmp_path)
    _apart(lambda: (to_dispatch(world), _submit(world, "东湖路河涌有死鱼，气味很大")))
    with Session(sqlite_engine) as session:
        session.add(Leader(name="越秀领导", chat_id=LEADER, scope_region="440104"))
        session.commit()
    app = console(world).app
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the console did not start")
            threading.Event().wait(0.05)
        yield Served(world, f"http://127.0.0.1:{listener.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        sqlite_engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian (Playwright cannot download its own here)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _apart(work: Callable[[], T]) -> T:
    """Run ``work`` in a thread of its own: the world drives its delivery worker with
    ``asyncio.run``, which cannot run in the thread where Playwright's loop is."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _shot(page: Page, name: str) -> None:
    """Save a full-page screenshot when OBSBOT_SCREENSHOTS names a folder."""
    folder = os.environ.get("OBSBOT_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"console-{name}.png"), full_page=True)


def _report(world: World, words: str) -> Report:
    with Session(world.services.engine) as session:
        return session.exec(select(Report).where(col(Report.text).contains(words))).one()


def test_a_dispatcher_signs_in_searches_and_routes_a_report(
    served: Served, browser: Browser
) -> None:
    world = served.world
    returned = _report(world, "发臭")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    served.sign_in(page, DISPATCHER)
    _shot(page, "dashboard")

    page.get_by_role("link", name=t("web.nav_reports")).click()
    page.get_by_placeholder(t("web.words")).fill("发臭")
    page.get_by_role("button", name=t("web.filter")).click()
    page.wait_for_url(re.compile(r"words="))
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and returned.number in rows.inner_text()
    _shot(page, "reports")

    page.get_by_role("link", name=returned.number).click()
    page.get_by_role("heading", name=t("web.timeline")).wait_for()
    assert "应由环保处理" in page.locator(".reason").inner_text()  # why it waits at dispatch
    _shot(page, "report")
    page.locator(".actions").get_by_role("button", name="生态环境").first.click()
    page.get_by_role("status").wait_for()
    assert page.get_by_role("status").inner_text() == t("web.done.routed")

    assert _report(world, "发臭").status == ReportStatus.ROUTED
    delivered = _apart(world.deliver)
    assert any(s.chat_id == ENV_GROUP and returned.number in s.text for s in delivered)


def test_a_handler_signs_for_a_report_in_the_browser(served: Served, browser: Browser) -> None:
    world = served.world
    water = _report(world, "死鱼")
    page = browser.new_page()
    served.sign_in(page, HANDLER)
    page.goto(f"{served.base}/reports/{water.id}")
    page.get_by_role("button", name=t("web.button.sign")).click()
    page.get_by_role("status").wait_for()
    assert page.get_by_role("status").inner_text() == t("web.done.signed")
    assert _report(world, "死鱼").status == ReportStatus.SIGNED


def test_a_leader_on_a_phone_reads_but_is_refused_an_action(
    served: Served, browser: Browser
) -> None:
    world = served.world
    returned = _report(world, "发臭")
    page = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    served.sign_in(page, LEADER)
    page.goto(f"{served.base}/reports/{returned.id}")
    page.get_by_text(t("web.no_actions")).wait_for()
    _shot(page, "phone")
    wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not wide, "the report page scrolls sideways on a phone"

    # A tampered page posts the close form anyway: the authority policy refuses it.
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    with page.expect_navigation() as navigation:
        page.evaluate(
            """([rid, csrf]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = `/reports/${rid}/close`;
                for (const [name, value] of [["csrf", csrf], ["words", "无需办理"]]) {
                    const input = document.createElement("input");
                    input.name = name; input.value = value; form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [returned.id, csrf],
        )
    assert navigation.value is not None and navigation.value.status == 403
    assert _report(world, "发臭").status == ReportStatus.DISPATCH
    with Session(world.services.engine) as session:
        refused = session.exec(
            select(ReportEvent).where(ReportEvent.action == "console_refused")
        ).all()
    assert [(e.actor, e.details["action"]) for e in refused] == [(f"user:{LEADER}", "close")]
    assert page.locator("main").inner_text().strip() == t(refused[0].details["reason"])
