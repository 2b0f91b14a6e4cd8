"""The explorer's JSON API through Starlette's TestClient: results, refusals and bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

import steepest  # noqa: E402
from steepest.explore import network, optimizer  # noqa: E402
from steepest.explore.params import validate  # noqa: E402
from steepest.explore.server import MAX_BODY, create_app  # noqa: E402

# The app serves a Host of this machine only (DNS rebinding): the client's default Host,
# "testserver", is refused, so the tests talk to it as a browser on this machine would.
LOCAL = "http://127.0.0.1:8050"


@pytest.fixture()
def client() -> TestClient:
    return TestClient(create_app(max_sessions=3, session_ttl=60.0), base_url=LOCAL)


def _refused(response, parameter: str | None = None) -> str:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    if parameter is not None:
        assert body["parameter"] == parameter, body
    return body["error"]


def test_pages_and_scripts_are_served_locally(client) -> None:
    for path in ("/", "/network", "/static/optimizer.js", "/static/network.js",
                 "/static/common.js", "/static/explorer.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert "http://" not in response.text and "https://" not in response.text, path


def test_meta_lists_every_method_and_problem(client) -> None:
    meta = client.get("/api/meta").json()
    assert [m["name"] for m in meta["methods"]] == list(steepest.minimize.METHODS)
    assert [p["name"] for p in meta["problems"]] == list(steepest.problems.NAMES)
    assert meta["network"]["datasets"] == ["moons", "circles", "spiral", "xor", "blobs"]


def test_every_method_runs_with_the_options_the_page_offers(client) -> None:
    for info in client.get("/api/meta").json()["methods"]:
        body = {"method": info["name"], "steps": 50}
        for name in info["options"]:
            body[name] = "armijo" if name == "line_search" else 0.5
        response = client.post("/api/run", json=body)
        assert response.status_code == 200, (info, response.text)
        assert len(response.json()["path"]) == response.json()["nit"] + 1


def test_a_run_matches_minimize(client) -> None:
    r = client.post("/api/run", json={"problem": "quadratic", "kappa": 10, "method": "gd",
                                      "lr": 0.1, "x0": [1.0, -2.0], "steps": 300}).json()
    p = steepest.problems.get("quadratic", kappa=10)
    expected = steepest.minimize(p.value, [1.0, -2.0], method="gd", lr=0.1, jac=p.grad,
                                 max_iter=300, gtol=1e-10)
    np.testing.assert_allclose(np.array(r["path"]), expected.path)
    assert r["nit"] == expected.nit and r["verdict"] == "converged"
    # theory: (1 - lr mu)^2 = 0.81 per iteration of f - f*; the fit sees the same
    assert r["rate"]["theory"] == pytest.approx(0.81)
    assert r["rate"]["observed"] == pytest.approx(0.81, rel=0.02)


def test_divergence_comes_with_a_suggested_lr(client) -> None:
    r = client.post("/api/run", json={"kappa": 10, "lr": 1.0}).json()
    assert r["verdict"] == "diverged" and r["diverged"]
    assert r["suggested_lr"] == pytest.approx(0.1, rel=1e-6)
    assert "try lr <= 0.1" in r["message"]
    assert all(v is None or math.isfinite(v) for v in r["fvals"])


def test_saddle_and_oscillation_are_named(client) -> None:
    saddle = client.post("/api/run", json={"problem": "saddle", "x0": [0.5, 0.0],
                                           "lr": 0.1}).json()
    assert saddle["verdict"] == "saddle"
    zigzag = client.post("/api/run", json={"kappa": 10, "lr": 0.19}).json()
    assert "oscillating" in zigzag["verdict"]


def test_schedules_reach_minimize(client) -> None:
    for schedule in optimizer.SCHEDULES:
        r = client.post("/api/run", json={"lr": 0.1, "schedule": schedule, "steps": 120,
                                          "step_size": 30, "warmup_steps": 20}).json()
        assert r["lrs"][0] is not None, schedule
    warm = client.post("/api/run", json={"lr": 0.1, "schedule": "warmup", "warmup_steps": 20,
                                         "steps": 100}).json()
    assert warm["lrs"][0] < warm["lrs"][30] == pytest.approx(0.1)


@pytest.mark.parametrize("body, parameter", [
    ({"problem": "nope"}, "problem"),
    ({"method": "sgd2"}, "method"),
    ({"lr": "fast"}, "lr"),
    ({"lr": -1}, "lr"),
    ({"lr": 1e9}, "lr"),
    ({"lr": True}, "lr"),
    ({"steps": 10**6}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"x0": [1.0]}, "x0"),
    ({"x0": [1.0, 1e9]}, "x0"),
    ({"kappa": 0.5}, "kappa"),
    ({"line_search": "exact"}, "line_search"),
    ({"colour": "red"}, "colour"),
    ({"problem": "logistic_regression", "x0": [0.0, 0.0]}, "x0"),
    ({"line_search": "armijo", "schedule": "cosine"}, "schedule"),
])
def test_bad_run_parameters_get_400_naming_them(client, body, parameter) -> None:
    _refused(client.post("/api/run", json=body), parameter)
    assert client.get("/api/health").json()["ok"]


def test_nan_non_json_and_huge_bodies_are_refused(client) -> None:
    headers = {"Content-Type": "application/json"}
    assert "finite" in _refused(client.post("/api/run", content=b'{"lr": NaN}', headers=headers))
    _refused(client.post("/api/run", content=b'{"lr": Infinity}', headers=headers))
    _refused(client.post("/api/run", content=b"{not json", headers=headers), "body")
    _refused(client.post("/api/run", content=b"[1, 2]", headers=headers), "body")
    _refused(client.post("/api/run", content=b" " * (MAX_BODY + 1), headers=headers), "body")
    _refused(client.get("/api/contour?problem=quadratic&kappa=nan"), "kappa")
    _refused(client.get("/api/contour?problem=rosenbrock&grid=9999"), "grid")
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/run").status_code == 405
    assert client.post("/api/run", json={}).status_code == 200  # and it still serves


def test_contour_is_bounded_and_none_beyond_2d(client) -> None:
    c = client.get("/api/contour?problem=himmelblau").json()
    assert c["n"] == optimizer.GRID and len(c["shades"]) == optimizer.GRID ** 2
    assert 0 <= min(c["shades"]) and max(c["shades"]) <= c["levels"]
    assert len(c["minimizers"]) == 4
    assert client.get("/api/contour?problem=logistic_regression").json()["window"] is None


def test_network_session_trains_and_steps(client) -> None:
    s = client.post("/api/net/session", json={"dataset": "moons", "hidden": [8, 8],
                                              "points": 200, "lr": 0.03}).json()
    assert len(s["train"]["X"]) == 200 and s["sizes"] == [2, 8, 8, 1]
    first = s["frame"]["train_loss"]
    frame = client.post(f"/api/net/{s['id']}/train", json={"batches": 100}).json()
    assert frame["train_loss"] < first and len(frame["grad_norms"]) == 3
    assert len(frame["boundary"]) == network.BOUNDARY_GRID ** 2
    step = client.post(f"/api/net/{s['id']}/step", json={}).json()
    assert step["updates"] == frame["updates"] + 1
    layers = step["trace"]["layers"]
    assert [len(layer["z"]) for layer in layers] == [8, 8, 1]
    # dW of the last layer is delta * a_in (the outer product), as backprop says
    np.testing.assert_allclose(np.array(layers[-1]["dW"]),
                               np.outer(layers[-1]["delta"], layers[-1]["a_in"]), rtol=1e-10)
    assert client.delete(f"/api/net/{s['id']}").json()["deleted"]
    _refused(client.post(f"/api/net/{s['id']}/train", json={}))


@pytest.mark.parametrize("body, parameter", [
    ({"dataset": "iris"}, "dataset"),
    ({"hidden": [8] * 7}, "hidden"),
    ({"hidden": [100]}, "hidden"),
    ({"hidden": [0]}, "hidden"),
    ({"points": 10**6}, "points"),
    ({"noise": -0.1}, "noise"),
    ({"activation": "swish"}, "activation"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"batch_size": 500, "points": 100}, "batch_size"),
    ({"lr": 0}, "lr"),
])
def test_bad_session_parameters_get_400(client, body, parameter) -> None:
    _refused(client.post("/api/net/session", json=body), parameter)


def test_training_work_per_request_is_bounded(client) -> None:
    s = client.post("/api/net/session", json={}).json()
    _refused(client.post(f"/api/net/{s['id']}/train", json={"batches": 10**6}), "batches")


def test_sessions_are_bounded_and_tabs_independent(client) -> None:
    ids = [client.post("/api/net/session", json={"seed": k}).json()["id"] for k in range(4)]
    assert client.get("/api/health").json()["sessions"] == 3
    _refused(client.post(f"/api/net/{ids[0]}/train", json={}))  # the oldest made room
    a = client.post(f"/api/net/{ids[1]}/train", json={"batches": 20}).json()
    b = client.post(f"/api/net/{ids[2]}/train", json={"batches": 1}).json()
    assert (a["updates"], b["updates"]) == (20, 1)


def test_sessions_expire() -> None:
    store = network.SessionStore(capacity=4, ttl=0.0)
    key, _ = store.create(validate(network.SESSION_SPEC, {}))
    with pytest.raises(KeyError):
        store.get(key)


def test_datasets_are_two_balanced_classes_in_the_window() -> None:
    for name in network.DATASETS:
        X, y = network.make_dataset(name, 300, 0.2, seed=3)
        assert X.shape == (300, 2) and set(np.unique(y)) == {0, 1}
        assert abs(np.mean(y) - 0.5) < 0.1
        assert np.all(np.abs(X) <= network.WINDOW)
        X2, _ = network.make_dataset(name, 300, 0.2, seed=3)
        np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="moons"):
        network.make_dataset("iris", 10, 0.0)


def test_an_internal_error_is_json_and_the_server_keeps_serving(monkeypatch) -> None:
    def broken(values):
        raise RuntimeError("boom")
    monkeypatch.setattr(optimizer, "run", broken)
    client = TestClient(create_app(), raise_server_exceptions=False, base_url=LOCAL)
    response = client.post("/api/run", json={})
    assert response.status_code == 500
    assert "internal error (RuntimeError)" in response.json()["error"]
    assert "Traceback" not in response.text
    assert client.get("/api/health").json()["ok"]


def test_every_offered_optimizer_trains_a_network(client) -> None:
    for name in client.get("/api/meta").json()["network"]["optimizers"]:
        s = client.post("/api/net/session", json={"optimizer": name, "lr": 0.01})
        assert s.status_code == 200, (name, s.text)
        frame = client.post(f"/api/net/{s.json()['id']}/train", json={"batches": 3})
        assert frame.status_code == 200, (name, frame.text)
        assert frame.json()["updates"] == 3
