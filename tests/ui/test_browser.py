"""The real app in headless Chromium: `streamlit run` on a free loopback port, driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from procure.config import Settings
from procure.db import session_scope
from procure.delivery.portfolio import build_report
from procure.records.workspace import open_workspace
from procure.sample.loader import load_sample
from tests.conftest import ROOT, SAMPLE_TODAY, skip_or_fail

pytestmark = pytest.mark.clock_free  # the app runs in its own process, on the real clock

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(home: Path, **environment: str) -> Iterator[str]:
    """``streamlit run app.py`` on ``home``, on a free loopback port, until the block ends."""
    port = _free_port()
    env = {**os.environ, "PROCURE_HOME": str(home), **environment}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the app did not become healthy within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def _sample_at(home: Path) -> None:
    workspace = open_workspace(Settings(home=home))
    with session_scope(workspace.engine) as db:
        load_sample(SAMPLE_TODAY, workspace.settings.label_store, session=db)
    workspace.engine.dispose()


@pytest.fixture
def served_sample(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "ws"
    _sample_at(home)
    with _served(home) as url:
        yield url, home


def _chromium() -> Any:
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    return sync_playwright()


def test_overview_shows_the_sample_kpis(served_sample: tuple[str, Path], tmp_path: Path) -> None:
    url, home = served_sample
    workspace = open_workspace(Settings(home=home), create=False)
    with session_scope(workspace.engine) as db:
        totals = build_report(SAMPLE_TODAY, session=db).totals
    assert totals is not None
    spent = f"${totals.spent:,.2f}"

    with _chromium() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 2000})
        page.goto(url)
        page.get_by_text("Active contracts").wait_for(timeout=60_000)
        page.get_by_text(spent).first.wait_for(timeout=30_000)
        page.locator(".js-plotly-plot").nth(1).wait_for(timeout=30_000)
        body = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        browser.close()
    assert "Overview" in body and "Committed budget" in body and "Late or short weeks" in body
    assert "Kestrel Experts: Expert reports: chemistry and law" in body
    assert (tmp_path / "overview.png").stat().st_size > 10_000


HOSTILE = (
    "Evil **bold** ![px](http://127.0.0.1:9/pixel.png) [link](http://example.invalid) "
    "<b>html</b> _it_ :tada: &copy; www.example.invalid mail@example.invalid"
)


def test_user_text_is_shown_as_typed_never_as_markdown_or_html(tmp_path: Path) -> None:
    """A vendor name and a contract title with Markdown, HTML, a remote image, links, an emoji
    shortcode and an entity: the Overview's alerts and tables show them as typed, and the page
    neither links anywhere nor loads the pixel (before: the image tag loaded it)."""
    import yaml

    from procure.records import import_document

    home = tmp_path / "ws"
    _sample_at(home)
    document = yaml.safe_load((ROOT / "tests" / "data" / "contract.yaml").read_text())
    document["vendors"][0]["name"] = HOSTILE
    document["contracts"][0].update(vendor=HOSTILE, title=f"Title {HOSTILE}")
    workspace = open_workspace(Settings(home=home))
    with session_scope(workspace.engine) as db:
        import_document(yaml.safe_dump(document).encode(), "hostile.yaml", session=db)
    workspace.engine.dispose()
    with _served(home, PROCURE_TODAY=SAMPLE_TODAY.isoformat()) as url, _chromium() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 2400})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url)
        page.get_by_text("Active contracts").wait_for(timeout=60_000)
        page.get_by_text("Title Evil", exact=False).first.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
        body = page.inner_text("body")
        links = page.eval_on_selector_all(
            "[data-testid=stMarkdownContainer] a, [data-testid=stAlert] a",
            "els => els.map(e => e.href).filter(h => !h.startsWith(location.origin))",
        )
        rendered = page.eval_on_selector_all(
            "[data-testid=stMarkdownContainer] :is(strong, em, b, img, h1)",
            "els => els.map(e => e.textContent)",
        )
        browser.close()
    assert not any("127.0.0.1:9" in r or "example.invalid" in r for r in requested)
    assert links == []
    assert not [text for text in rendered if "bold" in text or "html" in text or text == "it"]
    shown = body.replace("\u2060", "")
    assert (
        "Evil **bold** ![px](http://127.0.0.1:9/pixel.png) [link](http://example.invalid)" in shown
    )
    assert "<b>html</b> _it_ :tada: &copy;" in shown
