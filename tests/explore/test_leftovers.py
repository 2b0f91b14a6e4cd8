"""Three leftovers of the explorer, in a real browser and through the API: plots left under a
refused run, a loss axis that restarted after 2,000 frames, and hand-edited links whose values
lie beyond a slider."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from steepest.explore import network, optimizer  # noqa: E402
from steepest.explore.params import Integer, Real  # noqa: E402
from steepest.explore.server import create_app  # noqa: E402

LOCAL = "http://127.0.0.1:8050"
WAIT = 10000  # ms: long enough on a loaded machine, short enough to fail fast


def _open(w, path: str) -> None:
    w.page.goto(w.base + path)
    w.page.wait_for_selector("body[data-ready='1']", timeout=WAIT)
    w.page.wait_for_load_state("networkidle")


def _slide(page, selector: str, position: float, change: bool = False) -> None:
    """Move a slider as a hand does: input events while it moves, change when let go."""
    page.eval_on_selector(selector, """(el, [v, change]) => { el.value = v;
        el.dispatchEvent(new Event('input', {bubbles: true}));
        if (change) el.dispatchEvent(new Event('change', {bubbles: true})); }""",
                          [position, change])


def _run_requests(w) -> list[str]:
    """The body of every /api/run request from now on."""
    bodies: list[str] = []
    w.page.on("request", lambda r: bodies.append(r.post_data or "") if r.url.endswith("/api/run")
              else None)
    return bodies


def _stale(page) -> bool:
    """Whether the optimizer view says its plots are not of the settings on the left: the
    panels greyed, and a visible note on each."""
    greyed = page.evaluate("""() => ['contour', 'loss', 'rate', 'diagnosis'].map((id) =>
        parseFloat(getComputedStyle(document.getElementById(id)).opacity))""")
    notes = page.locator("#plots .stale-note:visible").count()
    flagged = page.evaluate("document.getElementById('plots').classList.contains('stale')")
    return flagged and notes == 2 and all(o < 0.6 for o in greyed)


def _fresh(page) -> bool:
    greyed = page.evaluate("""() => ['contour', 'loss', 'rate', 'diagnosis'].map((id) =>
        parseFloat(getComputedStyle(document.getElementById(id)).opacity))""")
    return (page.locator("#plots .stale-note:visible").count() == 0
            and all(o == 1 for o in greyed)
            and not page.evaluate("document.getElementById('plots').classList.contains('stale')"))


# ------------------------------------------------------------------ 1. plots under a refused run
def test_a_refused_run_greys_the_plots_and_names_the_settings_they_belong_to(watched) -> None:
    # lr = 1e9 typed by hand (into the page's state, as a console or an extension would): the
    # error box came, and the plots of lr = 0.05 stayed below it as if they were of lr = 1e9
    _open(watched, "/#problem=quadratic&kappa=10&method=gd&lr=0.05")
    page = watched.page
    assert _fresh(page)
    page.evaluate("window.explorer.state.lr = 1e9; window.explorer.requestRun()")
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    assert "lr" in page.inner_text("#error")
    page.wait_for_function("() => document.getElementById('plots').classList.contains('stale')",
                           timeout=WAIT)
    assert _stale(page)
    note = page.inner_text("#plots .stale-note >> nth=0")
    assert "last accepted" in note and "lr=0.05" in note and "quadratic" in note
    # the next accepted run is drawn as usual, with nothing greyed
    draws = page.evaluate("window.explorer.draws")
    _slide(page, "#lr", -1)  # lr = 0.1
    page.wait_for_function("d => window.explorer.draws > d", arg=draws, timeout=WAIT)
    assert _fresh(page) and page.is_hidden("#error")
    assert page.evaluate("window.explorer.last.settings.lr") == 0.1
    assert watched.errors == []


def test_a_run_the_server_refuses_greys_the_plots_and_marks_its_field(watched) -> None:
    _open(watched, "/#problem=rosenbrock&method=adam&lr=0.05")
    page = watched.page
    refusal = '{"error": "explore: lr must be in [1e-06, 100], got 200.0", "parameter": "lr"}'
    page.route("**/api/run", lambda route: route.fulfill(status=400, body=refusal,
                                                         content_type="application/json"))
    _slide(page, "#lr", -1)
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    assert "The server refused the request (HTTP 400)" in page.inner_text("#error")
    page.wait_for_function("() => document.getElementById('plots').classList.contains('stale')",
                           timeout=WAIT)
    assert _stale(page)
    assert "adam lr=0.05" in page.inner_text("#plots .stale-note >> nth=0")
    assert page.get_attribute("#lr", "aria-invalid") == "true"
    assert "got 200.0" in page.inner_text("#lr-error")
    page.unroute("**/api/run")
    draws = page.evaluate("window.explorer.draws")
    _slide(page, "#lr", -1.5)
    page.wait_for_function("d => window.explorer.draws > d", arg=draws, timeout=WAIT)
    assert _fresh(page) and page.is_hidden("#error")
    assert page.get_attribute("#lr", "aria-invalid") is None and page.is_hidden("#lr-error")


def test_a_first_run_refused_says_there_is_nothing_to_show(watched) -> None:
    _open(watched, "/#problem=quadratic&method=gd&lr=1e9")
    page = watched.page
    assert page.evaluate("window.explorer.last") is None
    assert "stale" in page.get_attribute("#plots", "class")
    assert "no accepted run yet" in page.inner_text("#plots .stale-note >> nth=0").lower()
    assert watched.errors == []


# ------------------------------------------------------------------ 2. more than 2,000 frames
def test_the_network_loss_axis_counts_true_frames_past_2000(watched) -> None:
    # 2,500 frames after the new network's: the page kept the last 1,000-2,000 of them and
    # labelled them 0, 200, ... 1400 (a real run of 2,101 frames: ticks 0 ... 1000)
    _open(watched, "/network#dataset=moons&hidden=4&points=100")
    page = watched.page
    page.evaluate("""() => { const f = window.netExplorer.last, frames = [];
        for (let k = 1; k <= 2500; k++) frames.push({...f, updates: 5 * k, grad_norms: [1 / k, 2 / k],
            train_loss: f.train_loss * Math.exp(-k / 800), val_loss: f.val_loss * Math.exp(-k / 900)});
        window.netExplorer.replay(frames); }""")
    history = page.evaluate("window.netExplorer.history")
    n = len(history["frame"])
    assert n <= 2000  # subsampled ...
    assert history["frame"][0] == 0 and history["frame"][-1] == 2500  # ... over the whole run
    assert history["frame"] == sorted(set(history["frame"]))
    assert [len(history[k]) for k in ("updates", "train", "val", "norms")] == [n] * 4
    # each point is the frame it says it is
    k = history["frame"][n // 2]
    assert history["updates"][n // 2] == 5 * k
    first = history["train"][0]
    assert history["train"][n // 2] == pytest.approx(first * math.exp(-k / 800), rel=1e-9)
    for chart in ("#net-loss", "#grad-norms"):
        ticks = [int(t) for t in page.get_attribute(chart, "data-x-ticks").split()]
        assert ticks[0] == 0 and 2000 <= ticks[-1] <= 2500, (chart, ticks)
        assert ticks == sorted(ticks)
    assert page.inner_text("#stat-updates") == "12500"
    # a real frame after them is frame 2501
    page.click("#step")
    page.wait_for_selector("#trace table", timeout=WAIT)
    assert page.evaluate("window.netExplorer.history.frame.at(-1)") == 2501
    # and a new network starts the axis at 0 again, as it should
    page.fill("#hidden", "3")
    page.press("#hidden", "Enter")
    page.wait_for_function("() => window.netExplorer.session.sizes.join('-') === '2-3-1'",
                           timeout=WAIT)
    assert page.evaluate("window.netExplorer.history.frame") == [0]
    assert watched.errors == []


def test_a_long_optimizer_run_labels_its_true_iterations(watched) -> None:
    # a guard (this view sends every iterate): 3,000 iterations, the axis reads to 3000
    _open(watched, "/#problem=rosenbrock&method=gd&lr=0.0001&steps=3000")
    page = watched.page
    assert page.evaluate("window.explorer.last.nit") == 3000
    ticks = [int(t) for t in page.get_attribute("#loss", "data-x-ticks").split()]
    assert ticks[0] == 0 and ticks[-1] == 3000
    assert watched.errors == []


# ------------------------------------------------------------------ 3. links beyond a slider
@pytest.mark.parametrize("fragment, field, shown, words", [
    ("method=gd&lr=1e9", "lr", "1e9", "outside its range [1e-6, 100]"),
    ("method=momentum&lr=0.01&momentum=5", "momentum", "5", "outside its range [0, 0.999]"),
    ("method=gd&steps=-3", "steps", "-3", "outside its range [1, 5000]"),
    ("method=gd&steps=2.5", "steps", "2.5", "not a whole number"),
    ("method=gd&lr=fast", "lr", "fast", "not a number"),
    ("method=gd&schedule=step&gamma=7", "gamma", "7", "outside its range [0.001, 1]"),
])
def test_a_link_value_beyond_its_slider_is_refused_with_the_field_marked(
        watched, fragment, field, shown, words) -> None:
    # lr=1e9 became the default 0.05 without a word, momentum=5 the default 0.9, steps=-3 500
    page = watched.page
    bodies = _run_requests(watched)
    _open(watched, "/#problem=quadratic&" + fragment)
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    text = page.inner_text("#error")
    assert f"{field} = {shown}" in text and words in text and "link" in text
    assert page.get_attribute("#" + field, "aria-invalid") == "true"
    assert f"{field} = {shown}" in page.inner_text(f"#{field}-error")
    assert page.inner_text(f"#{field}-out") == shown  # what the link says, marked
    assert bodies == []  # nothing was run with another value in its place
    assert page.evaluate("window.explorer.last") is None
    assert f"{field}={shown}" in page.url  # the link still says what it said
    # moving the marked slider chooses a value: the mark goes, the run is drawn
    position = {"lr": -1, "momentum": 0.5, "steps": 200, "gamma": 0.5}[field]
    _slide(page, "#" + field, position)
    page.wait_for_function("() => window.explorer.last !== null", timeout=WAIT)
    assert page.is_hidden("#error") and page.is_hidden(f"#{field}-error")
    assert page.get_attribute("#" + field, "aria-invalid") is None
    assert _fresh(page)
    assert watched.errors == []


def test_a_bad_value_for_a_hidden_field_blocks_nothing_until_it_is_shown(watched) -> None:
    # gd has no momentum slider: momentum=5 is not used, so the run goes ahead ...
    _open(watched, "/#problem=quadratic&method=gd&lr=0.05&momentum=5")
    page = watched.page
    assert page.is_hidden("#error") and page.evaluate("window.explorer.last") is not None
    # ... until a method that uses it is chosen: then it is refused and marked
    page.select_option("#method", "momentum")
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    assert "momentum = 5" in page.inner_text("#error")
    assert page.get_attribute("#momentum", "aria-invalid") == "true"
    assert _stale(page)
    assert watched.errors == []


def test_choosing_another_method_ends_a_refused_lr_with_its_own(watched) -> None:
    _open(watched, "/#problem=quadratic&method=gd&lr=1e9")
    page = watched.page
    assert page.get_attribute("#lr", "aria-invalid") == "true"
    page.select_option("#method", "momentum")  # a method change sets lr to the method's own
    page.wait_for_function("() => window.explorer.last !== null", timeout=WAIT)
    assert page.evaluate("window.explorer.last.settings.lr") == 0.01
    assert page.is_hidden("#error") and page.get_attribute("#lr", "aria-invalid") is None
    assert "lr=0.01" in page.url and _fresh(page)
    assert watched.errors == []


def test_the_optimizer_sliders_span_exactly_the_bounds_the_server_checks(watched) -> None:
    # steps=5 from a link ran 5 steps while the slider (10 to 5000) sat at 10
    _open(watched, "/#problem=quadratic&method=gd&schedule=step&steps=5")
    page = watched.page
    bounds = page.evaluate("fetch('/api/meta').then(r => r.json()).then(m => m.bounds)")
    assert set(bounds) == {n for n, f in optimizer.RUN_SPEC.items() if isinstance(f, Real | Integer)}
    for name, b in bounds.items():
        low, high = (page.eval_on_selector("#" + name, "el => [parseFloat(el.min), parseFloat(el.max)]"))
        if name in ("lr", "kappa"):  # log sliders
            low, high = 10 ** low, 10 ** high
        assert low == pytest.approx(b["low"], rel=1e-12) and high == pytest.approx(b["high"], rel=1e-12), name
    assert page.input_value("#steps") == "5" and page.inner_text("#steps-out") == "5"
    assert page.evaluate("window.explorer.last.nit") == 5
    assert page.is_hidden("#error")


@pytest.mark.parametrize("fragment, field, shown, words", [
    ("lr=1e9", "lr", "1e9", "outside its range [1e-5, 10]"),
    ("optimizer=sgd&momentum=5", "momentum", "5", "outside its range [0, 0.99]"),
    ("batches=-3", "batches", "-3", "outside its range [1, 200]"),
    ("seed=-1", "seed", "-1", "outside its range [0, 2147483647]"),
])
def test_a_network_link_value_beyond_the_bounds_is_refused_with_the_field_marked(
        watched, fragment, field, shown, words) -> None:
    page = watched.page
    page.goto(watched.base + "/network#dataset=moons&hidden=4&" + fragment)
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    text = page.inner_text("#error")
    assert f"{field} = {shown}" in text and words in text
    assert page.get_attribute("#" + field, "aria-invalid") == "true"
    assert f"{field} = {shown}" in page.inner_text(f"#{field}-error")
    assert page.inner_text(f"#{field}-out") == shown
    assert page.evaluate("window.netExplorer.session") is None  # no network with another value
    assert page.is_disabled("#train") and page.is_disabled("#step")
    position = {"lr": -2, "momentum": 0.5, "batches": 3, "seed": 2}[field]
    _slide(page, "#" + field, position, change=True)
    page.wait_for_function("() => window.netExplorer.session !== null", timeout=WAIT)
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT)
    assert page.is_hidden("#error") and page.is_hidden(f"#{field}-error")
    assert page.get_attribute("#" + field, "aria-invalid") is None
    assert page.is_enabled("#train")
    assert watched.errors == []


def test_a_network_link_refused_in_an_open_tab_keeps_the_network_on_screen(watched) -> None:
    _open(watched, "/network#dataset=moons&hidden=4&lr=0.03")
    page = watched.page
    before = page.evaluate("window.netExplorer.session.id")
    page.evaluate("location.hash = 'dataset=circles&hidden=4&lr=1e9'")
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT)
    assert "still the previous 2-4-1" in page.inner_text("#error")
    assert page.get_attribute("#lr", "aria-invalid") == "true"
    assert page.evaluate("window.netExplorer.session.id") == before
    # Step goes on with the network on screen, at the lr it had, not at 1e9
    page.click("#step")
    page.wait_for_selector("#trace table", timeout=WAIT)
    assert page.evaluate("window.netExplorer.last.updates") == 1
    assert watched.errors == []


@pytest.mark.parametrize("fragment, field, value", [
    ("seed=100", "seed", 100),                    # the slider ends at 20: it read seed 0
    ("points=1000&batch_size=500", "batch_size", 500),  # the slider ends at 200
    ("points=25", "points", 25),                  # between the slider's steps of 10
    ("batches=120", "batches", 120),              # the slider ends at 50
])
def test_a_network_link_value_the_server_accepts_is_shown_by_its_slider(
        watched, fragment, field, value) -> None:
    _open(watched, "/network#dataset=moons&hidden=4&" + fragment)
    page = watched.page
    assert page.is_hidden("#error")
    assert float(page.input_value("#" + field)) == value  # the slider reaches it
    assert page.inner_text(f"#{field}-out") == str(value)
    if field != "batches":
        assert page.evaluate(f"window.netExplorer.session.settings.{field}") == value
    assert page.evaluate(f"window.netExplorer.state.{field}") == value
    assert watched.errors == []


# ------------------------------------------------------------------ the server checks the same
@pytest.fixture()
def client() -> TestClient:
    return TestClient(create_app(max_sessions=3, session_ttl=60.0), base_url=LOCAL)


def _beyond(field: Real | Integer) -> list[float]:
    step = 1 if isinstance(field, Integer) else max(1e-9, 1e-3 * (field.high - field.low))
    return [field.low - step, field.high + step]


def _numeric(spec: dict) -> dict:
    return {n: f for n, f in spec.items() if isinstance(f, Real | Integer)}


def test_meta_publishes_the_bounds_of_both_views(client) -> None:
    meta = client.get("/api/meta").json()
    for spec, bounds in ((optimizer.RUN_SPEC, meta["bounds"]),
                         ({**network.SESSION_SPEC, **network.TRAIN_SPEC},
                          meta["network"]["bounds"])):
        assert bounds == {n: {"low": f.low, "high": f.high, "default": f.default}
                          for n, f in _numeric(spec).items()}


@pytest.mark.parametrize("name", sorted(_numeric(optimizer.RUN_SPEC)))
def test_the_server_refuses_a_run_value_beyond_its_bounds(client, name) -> None:
    field = optimizer.RUN_SPEC[name]
    for value in _beyond(field) + ([2.5] if isinstance(field, Integer) else []):
        response = client.post("/api/run", json={name: value})
        assert response.status_code == 400, (name, value, response.text)
        assert response.json()["parameter"] == name
    for value in (field.low, field.high):  # and accepts both ends
        body = {name: value, "steps": 5} if name != "steps" else {name: min(value, 50)}
        assert client.post("/api/run", json=body).status_code in (200, 422), (name, value)


@pytest.mark.parametrize("name", sorted(_numeric(network.SESSION_SPEC)))
def test_the_server_refuses_a_session_value_beyond_its_bounds(client, name) -> None:
    for value in _beyond(network.SESSION_SPEC[name]):
        response = client.post("/api/net/session", json={name: value})
        assert response.status_code == 400, (name, value, response.text)
        assert response.json()["parameter"] == name


@pytest.mark.parametrize("name", sorted(_numeric(network.TRAIN_SPEC)))
def test_the_server_refuses_a_train_value_beyond_its_bounds(client, name) -> None:
    sid = client.post("/api/net/session", json={"hidden": [4]}).json()["id"]
    for value in _beyond(network.TRAIN_SPEC[name]):
        for kind in ("train", "step") if name == "lr" else ("train",):
            response = client.post(f"/api/net/{sid}/{kind}", json={name: value})
            assert response.status_code == 400, (name, value, response.text)
            assert response.json()["parameter"] == name
