"""The explorer in a real browser: Debian's chromium driven by Playwright, against uvicorn."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest


def _open(w, path: str = "/") -> None:
    w.page.goto(w.base + path)
    w.page.wait_for_selector("body[data-ready='1']")


def _settle(w) -> None:
    """Wait until no run is in flight and the last one is drawn."""
    w.page.wait_for_function("() => window.explorer && window.explorer.last !== null")
    w.page.wait_for_timeout(100)
    w.page.wait_for_load_state("networkidle")


def _set_slider(w, selector: str, position: float) -> None:
    w.page.eval_on_selector(selector, """(el, v) => { el.value = v;
        el.dispatchEvent(new Event('input', {bubbles: true})); }""", position)


def test_page_loads_clean_and_local(watched) -> None:
    _open(watched)
    _settle(watched)
    assert watched.errors == []
    assert watched.foreign == []
    methods = watched.page.eval_on_selector_all("#method option", "els => els.map(e => e.value)")
    import steepest
    assert methods == list(steepest.minimize.METHODS)
    problems = watched.page.eval_on_selector_all("#problem option", "els => els.map(e => e.value)")
    assert problems == list(steepest.problems.NAMES)


def test_clicking_the_contour_draws_a_new_trajectory(watched) -> None:
    _open(watched, "/#problem=rosenbrock&method=adam&lr=0.05")
    _settle(watched)
    page = watched.page
    canvas = page.locator("#contour")
    before_start = canvas.get_attribute("data-start")
    before_pixels = page.eval_on_selector("#contour", "c => c.toDataURL()")
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.75 * box["height"])
    page.wait_for_function("s => document.getElementById('contour').dataset.start !== s",
                           arg=before_start)
    _settle(watched)
    start = json.loads(canvas.get_attribute("data-start"))
    # rosenbrock's window is [-2, 2] x [-1, 3]: the click at (1/4, 3/4) of the plot is (-1, 0)
    assert start == pytest.approx([-1.0, 0.0], abs=0.05)
    assert int(canvas.get_attribute("data-points")) > 10
    assert page.eval_on_selector("#contour", "c => c.toDataURL()") != before_pixels
    assert "x0=-1" in page.url
    assert watched.errors == []


def test_moving_the_lr_slider_changes_the_loss_curve(watched) -> None:
    _open(watched, "/#problem=quadratic&method=gd&lr=0.01")
    _settle(watched)
    page = watched.page
    before = page.eval_on_selector("#loss", "c => c.toDataURL()")
    signature = page.get_attribute("#loss", "data-signature")
    _set_slider(watched, "#lr", -1)  # lr = 0.1
    page.wait_for_function("s => document.getElementById('loss').dataset.signature !== s",
                           arg=signature)
    _settle(watched)
    assert page.eval_on_selector("#loss", "c => c.toDataURL()") != before
    assert page.evaluate("window.explorer.last.nit") < 500  # lr = 0.1 converges, 0.01 does not
    assert "lr=0.1" in page.url
    assert watched.errors == []


def test_a_diverging_setting_says_so_with_a_suggested_lr(watched) -> None:
    _open(watched, "/#problem=quadratic&kappa=10&method=gd&lr=1")
    _settle(watched)
    page = watched.page
    text = page.inner_text("#diagnosis")
    assert "diverged" in text
    assert "try lr <= 0.1" in text
    button = page.locator("#use-suggested")
    assert "0.1" in button.inner_text()
    button.click()
    page.wait_for_function("() => window.explorer.last && !window.explorer.last.diverged")
    assert page.inner_text("#verdict").startswith("converged")


def test_pinned_runs_stay_on_the_plot_and_in_the_link(watched) -> None:
    _open(watched, "/#problem=quadratic&method=gd&lr=0.05")
    _settle(watched)
    page = watched.page
    page.click("#pin")
    page.select_option("#method", "momentum")
    page.wait_for_function("() => window.explorer.last.method === 'momentum'")
    page.click("#pin")
    assert page.locator("#pins li").count() == 2
    url = page.url
    assert "pins=" in url
    page2 = page.context.new_page()  # the link reproduces the pins in another tab
    page2.goto(url)
    page2.wait_for_function("() => window.explorer && window.explorer.pins.length === 2 && "
                            "window.explorer.pins.every(p => p.result) && "
                            "document.querySelectorAll('#pins li').length === 2")
    assert "momentum" in page2.inner_text("#pins")


def test_a_bad_parameter_gets_4xx_and_the_server_keeps_serving(watched, live_server) -> None:
    _open(watched)
    _settle(watched)
    status = watched.page.evaluate("""async () => {
        const r = await fetch('/api/run', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                           body: '{"problem": "nope", "lr": NaN}'});
        return [r.status, await r.json()]; }""")
    assert 400 <= status[0] < 500
    assert "error" in status[1]
    request = urllib.request.Request(live_server.url + "/api/run", data=b'{"lr": "fast"}',
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    assert "lr" in json.loads(caught.value.read())["error"]
    # the page shows the server's refusal in words, and the server still answers
    _open(watched, "/#problem=quadratic&lr=0.05")
    watched.page.evaluate("window.explorer.state.steps = 999999; window.explorer.requestRun()")
    watched.page.wait_for_selector("#error:not([hidden])")
    assert "steps" in watched.page.inner_text("#error")
    with urllib.request.urlopen(live_server.url + "/api/health", timeout=10) as response:
        assert json.loads(response.read())["ok"] is True


def test_the_network_view_trains_and_its_loss_goes_down_on_moons(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=8,8&points=200&lr=0.03&optimizer=adam")
    page = watched.page
    first = float(page.get_attribute("#net-loss", "data-train-loss"))
    page.click("#train")
    page.wait_for_function("() => window.netExplorer.frames >= 12")
    page.click("#train")  # pause
    assert page.inner_text("#train") == "Train"
    losses = page.evaluate("window.netExplorer.history.train")
    assert len(losses) >= 12
    assert losses[-1] < 0.7 * first
    frames = page.evaluate("window.netExplorer.frames")
    page.wait_for_timeout(300)
    assert page.evaluate("window.netExplorer.frames") <= frames + 1  # paused means paused
    page.click("#step")
    page.wait_for_selector("#trace table")
    rows = page.locator("#trace table tr").count()
    assert rows == 1 + 3  # header + one row per Linear layer of 2-8-8-1
    assert "δ" in page.inner_text("#trace")
    assert watched.errors == [] and watched.foreign == []


def test_the_network_view_counts_and_crosses_out_inactive_units(watched) -> None:
    # seed 0's 2-8-8-1 ReLU network starts with one dead unit in each hidden layer (unit 4)
    _open(watched, "/network#dataset=moons&hidden=8,8&activation=relu&seed=0&optimizer=sgd")
    page = watched.page
    expected = page.evaluate("window.netExplorer.last.inactive")
    assert [len(units) for units in expected] == [1, 1]
    assert page.inner_text("#stat-inactive") == "1/8 · 1/8"
    assert "alert" in page.get_attribute("#inactive", "class")
    # the loss chart of one frame: x ticks are whole frames, each once; the log y axis, less
    # than a decade tall here, still has labelled ticks (it had none, and x read "0 0 0 1 1 1")
    assert page.get_attribute("#net-loss", "data-x-ticks") == "0 1"
    assert len(page.get_attribute("#net-loss", "data-y-ticks").split()) >= 2
    page.click("#step")
    page.wait_for_selector("#trace table")
    assert "inactive" in page.inner_text("#plots")
    page.goto("about:blank")  # a new page load, not a change of hash
    _open(watched, "/network#dataset=moons&hidden=8,8&activation=tanh&seed=0")
    assert page.inner_text("#stat-inactive") == "0/8 · 0/8"
    assert "alert" not in (page.get_attribute("#inactive", "class") or "")
    assert watched.errors == [] and watched.foreign == []


def test_two_tabs_train_their_own_networks(watched) -> None:
    _open(watched, "/network#dataset=circles")
    other = watched.page.context.new_page()
    other.goto(watched.base + "/network#dataset=xor")
    other.wait_for_selector("body[data-ready='1']")
    ids = [p.evaluate("window.netExplorer.session.id") for p in (watched.page, other)]
    assert ids[0] != ids[1]
    other.click("#step")
    other.wait_for_selector("#trace table")
    assert watched.page.evaluate("window.netExplorer.last.updates") == 0
    assert other.evaluate("window.netExplorer.last.updates") == 1


# ------------------------------------------------------------------------------------ QA 2
def _type_hidden(page, text: str) -> None:
    page.fill("#hidden", text)
    page.press("#hidden", "Enter")  # the change event: a new session is asked for


def _dark_pixels(page, selector: str) -> int:
    """Pixels of a canvas darker than any point or colour of the plot (the decision line)."""
    return page.eval_on_selector(selector, """c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let k = 0; k < d.length; k += 4) if (Math.max(d[k], d[k + 1], d[k + 2]) < 120) n++;
        return n; }""")


def test_bad_hidden_widths_are_explained_and_the_network_stays_usable(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=8,8")
    page = watched.page
    before = page.evaluate("window.netExplorer.session.id")
    _type_hidden(page, "abc")
    page.wait_for_selector("#error:not([hidden])")
    text = page.inner_text("#error")
    assert 'hidden widths must be comma-separated positive integers' in text and '"abc"' in text
    assert "None" not in text
    assert "still the previous 2-8-8-1" in text
    assert page.get_attribute("#hidden", "aria-invalid") == "true"
    assert '"abc"' in page.inner_text("#hidden-error")
    # Step goes on with the network on screen (it said "no training session")
    assert page.is_enabled("#step") and page.is_hidden("#session-hint")
    page.click("#step")
    page.wait_for_selector("#trace table")
    assert page.evaluate("window.netExplorer.last.updates") == 1
    assert page.evaluate("window.netExplorer.session.id") == before
    _type_hidden(page, "4")
    page.wait_for_function("() => window.netExplorer.session.sizes.join('-') === '2-4-1'")
    assert page.is_hidden("#error") and page.is_hidden("#hidden-error")
    assert page.get_attribute("#hidden", "aria-invalid") is None
    assert watched.foreign == []


def test_without_a_network_train_and_step_are_off_with_a_hint(watched) -> None:
    watched.page.goto(watched.base + "/network#hidden=100")  # a link with a width too large
    page = watched.page
    page.wait_for_selector("#error:not([hidden])")
    assert "from 1 to 32, got 100" in page.inner_text("#error")
    assert page.is_disabled("#step") and page.is_disabled("#train")
    assert "press Reset" in page.inner_text("#session-hint")
    _type_hidden(page, "8")
    page.wait_for_selector("body[data-ready='1']")
    assert page.is_enabled("#step") and page.is_enabled("#train")
    assert page.is_hidden("#session-hint") and page.is_hidden("#error")


def test_a_new_session_clears_the_previous_trace(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=8,8")
    page = watched.page
    page.click("#step")
    page.wait_for_selector("#trace table")
    _type_hidden(page, "3")
    page.wait_for_function("() => window.netExplorer.session.sizes.join('-') === '2-3-1'")
    assert page.inner_text("#trace").startswith("Press Step")  # not "example 81: x = ..."
    assert page.locator("#trace table").count() == 0
    blank = page.eval_on_selector("#trace-net", """c => c.getContext('2d')
        .getImageData(0, 0, c.width, c.height).data.every(v => v === 0)""")
    assert blank  # the 2-8-8-1 diagram is gone
    assert page.get_attribute("#trace-net", "data-trace-of") is None
    page.click("#step")
    page.wait_for_selector("#trace table")
    assert page.locator("#trace table tr").count() == 1 + 2  # the new 2-3-1 network's layers
    assert page.get_attribute("#trace-net", "data-trace-of") == page.evaluate(
        "window.netExplorer.session.id")
    assert watched.errors == []


def test_the_decision_boundary_is_a_thin_line(watched) -> None:
    # seed 0's untrained 2-4-1 tanh network: P is near 0.5 over much of the window, where a
    # band of |P - 0.5| < 0.012 drew a black region a quarter of the plot wide
    _open(watched, "/network#dataset=moons&hidden=4&seed=0")
    page = watched.page
    dark = _dark_pixels(page, "#boundary")
    assert 0 < dark < 0.02 * 440 * 440
    length = int(page.get_attribute("#boundary", "data-line-length"))
    assert dark <= 3 * length + 20  # about as many as a line 1.5 pixels wide covers
    segments = "(p, level) => window.netExplorer.levelSegments(p, 50, level).length"
    flat = page.evaluate(segments.replace("(p, level)", "() => ((p, level)") +
                         ")(Array(2500).fill(2048), 2047.5)")
    assert flat == 0  # a field that does not cross 0.5: no line at all
    ramp = page.evaluate("""() => window.netExplorer.levelSegments(
        Array.from({length: 2500}, (_, k) => (k % 50) * 80), 50, 2047.5)""")
    assert len(ramp) == 49  # a straight line, one segment per row of cells
    assert all(a[0] == b[0] == pytest.approx(2047.5 / 80) for a, b in ramp)
    assert watched.errors == []


def test_the_output_row_is_labelled_the_logit(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=8,8&activation=tanh")
    page = watched.page
    page.click("#step")
    page.wait_for_selector("#trace table")
    header = page.locator("#trace table tr").first.inner_text()
    assert "a = f(z), f = tanh" in header and "σ(z)" not in header
    cells = page.locator("#trace table tr").last.locator("td")
    assert cells.nth(0).inner_text() == "3 (output)"
    assert "the logit" in cells.nth(3).inner_text()
    trace = page.evaluate("window.netExplorer.last.trace")
    assert trace["layers"][-1]["z"] == [trace["logit"]]
    caption = page.inner_text("#trace p.note")
    assert f"P(class 1) = σ(z) = {trace['probability']:.3g}" in caption


def _legend_fits(page, selector: str) -> list[str]:
    """The legend's labels, after checking every entry lies above the plot and on the canvas."""
    entries = json.loads(page.get_attribute(selector, "data-legend"))
    top = float(page.get_attribute(selector, "data-plot-top"))
    width = page.eval_on_selector(selector, "c => c.width")
    for label, left, y, w in entries:
        assert 0 <= left and left + w <= width, (label, left, w, width)
        assert y + 15 <= top, (label, y, top)
    return [entry[0] for entry in entries]


def test_chart_legends_fit_above_the_plot(watched) -> None:
    _open(watched, "/#problem=logistic_regression&method=gd&lr=0.5")
    _settle(watched)
    page = watched.page
    assert _legend_fits(page, "#loss") == ["this run", "theory: e₀ρᵏ"]
    assert "31-D" in page.inner_text("#rate") and "-0.401" not in page.inner_text("#rate")
    _open(watched, "/network#hidden=4,4,4,4,4,4")  # 7 layers, 7 entries
    page.click("#step")
    page.wait_for_selector("#trace table")
    labels = _legend_fits(page, "#grad-norms")
    assert labels == [f"layer {k} ‖∂L/∂W‖" for k in range(1, 8)]
