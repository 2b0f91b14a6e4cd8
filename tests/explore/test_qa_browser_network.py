"""QA in a real browser, the network view and the layout of both views: an error that is over
is cleared, a link pasted into an open tab is followed, and a phone-wide window scrolls down,
not sideways."""

from __future__ import annotations

import pytest


def _open(w, path: str) -> None:
    w.page.goto(w.base + path)
    w.page.wait_for_selector("body[data-ready='1']", timeout=10000)


def test_an_error_that_is_over_is_cleared_by_the_next_frame(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=4")
    page = watched.page
    # the server forgets the session (it expired, or the server was restarted)
    page.evaluate("fetch('/api/net/' + window.netExplorer.session.id, {method: 'DELETE'})")
    page.click("#step")
    page.wait_for_selector("#error:not([hidden])")
    assert "expired; started a new one" in page.inner_text("#error")
    page.click("#step")  # the new session trains: the old words went on saying it had expired
    page.wait_for_function("() => window.netExplorer.last.updates === 1")
    assert page.is_hidden("#error")
    page.click("#train")
    page.wait_for_function("() => window.netExplorer.frames >= 4")
    page.click("#train")
    assert page.is_hidden("#error")
    # a refused setting stays on screen while the old network trains on
    page.fill("#hidden", "abc")
    page.press("#hidden", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    updates = page.evaluate("window.netExplorer.last.updates")
    page.click("#step")
    page.wait_for_function("u => window.netExplorer.last.updates === u + 1", arg=updates)
    assert "still the previous 2-4-1" in page.inner_text("#error")


def test_a_link_pasted_into_an_open_tab_is_followed(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=8,8")
    page = watched.page
    page.click("#train")
    page.wait_for_function("() => window.netExplorer.frames >= 3")
    page.evaluate("location.hash = 'dataset=circles&hidden=4&activation=relu&lr=0.01'")
    page.wait_for_function("() => window.netExplorer.session.sizes.join('-') === '2-4-1'")
    assert page.input_value("#dataset") == "circles"
    assert page.input_value("#hidden") == "4"
    assert page.input_value("#activation") == "relu"
    assert page.inner_text("#lr-out") == "0.01"
    assert page.inner_text("#train") == "Train"  # the old run stopped with its network
    assert page.evaluate("window.netExplorer.session.settings.dataset") == "circles"
    assert watched.errors == []


@pytest.mark.parametrize("path", ["/#problem=rosenbrock&method=adam", "/network"])
def test_a_phone_wide_window_scrolls_down_not_sideways(browser, live_server, path) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800})
    try:
        page = context.new_page()
        page.goto(live_server.url + path)
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        boxes = page.evaluate("""() => [...document.querySelectorAll('header, aside, .panel, canvas')]
            .filter(e => e.offsetParent !== null).map(e => {
              const r = e.getBoundingClientRect(); return [e.id || e.tagName, r.left, r.right]; })""")
        for name, left, right in boxes:
            assert left >= 0 and right <= 400, (name, left, right)
    finally:
        context.close()
