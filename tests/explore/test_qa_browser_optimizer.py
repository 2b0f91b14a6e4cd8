"""QA in a real browser, the optimizer view: the ends of the sliders, hand-edited links, dragging
past the plot's edge, and a server that stops while the page is open."""

from __future__ import annotations

import json
import threading
import time
import warnings

import numpy as np
import pytest


def _open(w, path: str = "/") -> None:
    w.page.goto(w.base + path)
    w.page.wait_for_selector("body[data-ready='1']", timeout=10000)
    w.page.wait_for_load_state("networkidle")


def _refused(w) -> list[int]:
    """Record the status of every response of 400 or more from now on."""
    statuses: list[int] = []
    w.page.on("response", lambda r: statuses.append(r.status) if r.status >= 400 else None)
    return statuses


def _slide(page, selector: str, position: float) -> None:
    page.eval_on_selector(selector, """(el, v) => { el.value = v;
        el.dispatchEvent(new Event('input', {bubbles: true})); }""", position)


def test_nesterov_at_the_left_end_of_the_momentum_slider_runs_as_gd(watched) -> None:
    # momentum 0 is on the slider, and SGD refuses nesterov=True without momentum: an HTTP 422
    # "SGD: nesterov=True needs momentum > 0 and dampening = 0" in the error box
    import steepest as st
    from steepest import problems
    _open(watched, "/#problem=quadratic&kappa=10&method=nesterov&lr=0.1&momentum=0.5")
    page = watched.page
    statuses = _refused(watched)
    draws = page.evaluate("window.explorer.draws")
    _slide(page, "#momentum", 0)
    page.wait_for_function("d => window.explorer.draws > d", arg=draws)
    page.wait_for_load_state("networkidle")
    assert statuses == [] and page.is_hidden("#error")
    last = page.evaluate("window.explorer.last")
    p = problems.get("quadratic", kappa=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gd = st.minimize(p.value, p.x0, method="gd", lr=0.1, max_iter=500, gtol=1e-10, jac=p.grad)
    assert last["nit"] == gd.nit and last["fun"] == pytest.approx(gd.fun, rel=1e-9, abs=1e-300)
    assert "gradient descent" in page.inner_text("#diagnosis")
    assert float(page.inner_text("#rate").split("theory ρ")[1].split()[0]) == pytest.approx(0.81)
    assert watched.errors == []


GARBAGE_PINS = json.dumps([None, 1, [2], "x", {"method": "gd", "problem": "quadratic"},
                           {"method": "momentum", "lr": "fast", "x0": "abc", "steps": -3}])


@pytest.mark.parametrize("fragment", [
    "pins=" + GARBAGE_PINS,                            # [null] threw in the pin list: no page
    "problem=rosenbrock&x0=1e308,1e308",               # beyond the x0 bound: blank plots, 400
    "problem=logistic_regression&x0=1,2",              # x0 for a 31-D problem: blank, 400
    "problem=rosenbrock&x0=,",                         # empty coordinates read as (0, 0)
])
def test_a_hand_edited_link_gives_a_working_page(watched, fragment) -> None:
    page = watched.page
    page.goto(watched.base + "/#" + fragment)
    page.wait_for_selector("body[data-ready='1']", timeout=10000)
    page.wait_for_function("() => window.explorer.last && window.explorer.pins.every(p => p.result)")
    page.wait_for_load_state("networkidle")
    assert watched.errors == []
    assert page.is_hidden("#error")
    assert page.evaluate("window.explorer.state.x0") is None
    pins = page.inner_text("#pins")
    assert "undefined" not in pins and "—" not in pins
    if fragment.startswith("pins="):  # the two objects, their gaps filled with the defaults
        assert page.locator("#pins li").count() == 2
        assert "gd lr=0.05: converged" in pins and "momentum lr=0.05 m=0.9" in pins


def test_dragging_past_the_edge_keeps_the_start_on_the_plot(watched) -> None:
    _open(watched, "/#problem=rosenbrock&method=gd&lr=0.001")
    page = watched.page
    box = page.locator("#contour").bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] + 400, box["y"] - 300, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.getElementById('contour').dataset.start.startsWith('[-1.2')")
    # rosenbrock's window is [-2, 2] x [-1, 3]: the drag stops at its top right corner
    x0 = page.evaluate("window.explorer.state.x0")
    assert x0 == pytest.approx([2.0, 3.0], abs=1e-9)
    assert json.loads(page.get_attribute("#contour", "data-start")) == pytest.approx([2.0, 3.0])


class _Server:
    """uvicorn serving a fresh explorer on a given port (0: any), from a thread."""

    def __init__(self, port: int = 0) -> None:
        import uvicorn

        from steepest.explore.server import create_app
        config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="critical",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no server"
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_a_stopped_server_is_said_in_words_and_a_restart_picks_up(browser) -> None:
    server = _Server()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.port}/#problem=quadratic&method=gd&lr=0.05")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_load_state("networkidle")
        server.stop()
        _slide(page, "#lr", -1)
        page.wait_for_selector("#error:not([hidden])")
        text = page.inner_text("#error")
        assert "Failed to fetch" not in text  # what the browser says, not what happened
        assert "cannot reach the explorer's server" in text and "steepest explore" in text
        server = _Server(server.port)  # started again on the same port: the page goes on
        _slide(page, "#lr", -1.5)
        page.wait_for_selector("#error", state="hidden")
        assert np.isclose(page.evaluate("window.explorer.last.settings.lr"), 10 ** -1.5, rtol=1e-3)
    finally:
        context.close()
        server.stop()
