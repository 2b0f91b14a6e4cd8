"""Fixtures for the explorer: a real uvicorn server on a free port, and Debian's chromium."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

pytest.importorskip("starlette", reason="the explorer needs the 'explore' extra (starlette)")
uvicorn = pytest.importorskip("uvicorn", reason="the explorer needs the 'explore' extra (uvicorn)")

CHROMIUM = os.environ.get("STEEPEST_CHROMIUM", "/usr/bin/chromium")


class LiveServer:
    """uvicorn serving the explorer from a thread, on a port the OS picked."""

    def __init__(self) -> None:
        from steepest.explore.server import create_app
        self.app = create_app(max_sessions=8, session_ttl=600.0)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the explorer's server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} "
                    "(apt-get install chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="browser tests need playwright (the 'test' extra)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


class Watched:
    """A page with every console error, page error and request to another host recorded."""

    def __init__(self, page: object, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.foreign: list[str] = []
        host = urlsplit(base).netloc
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def request(r: object) -> None:
            parts = urlsplit(r.url)
            if parts.scheme not in ("data", "blob", "about") and parts.netloc != host:
                self.foreign.append(r.url)
        page.on("request", request)


@pytest.fixture()
def watched(browser: object, live_server: LiveServer) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield Watched(page, live_server.url)
    context.close()
