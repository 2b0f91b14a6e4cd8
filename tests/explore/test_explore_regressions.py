"""QA regressions of the explorer: hostile bodies, DNS rebinding and CSRF, and the work of one
train request."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from steepest.explore import network  # noqa: E402
from steepest.explore.params import MAX_DEPTH, ParamError, finite_json, nesting_depth  # noqa: E402
from steepest.explore.server import create_app  # noqa: E402

LOCAL = "http://127.0.0.1:8050"
JSON = {"Content-Type": "application/json"}


@pytest.fixture()
def client() -> TestClient:
    return TestClient(create_app(max_sessions=3, session_ttl=60.0, port=8050), base_url=LOCAL,
                      raise_server_exceptions=False)


def _body_refused(response) -> str:
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "body", response.text
    return response.json()["error"]


# ------------------------------------------------------------------------------------ bodies
@pytest.mark.parametrize("body", [
    b"[" * 20000 + b"]" * 20000,                            # RecursionError in json: was a 500
    b'{"x0": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"x0": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",  # one level too many
])
def test_deeply_nested_json_is_a_400_on_body(client, body) -> None:
    assert "levels deep" in _body_refused(client.post("/api/run", content=body, headers=JSON))
    assert client.get("/api/health").json()["ok"]


def test_nesting_is_counted_outside_strings_only() -> None:
    assert nesting_depth('{"a": [1, [2]]}') == 3
    assert nesting_depth('{"label": "[[[[[[[[[[[[[[[[[[[[", "b": "\\\\"}') == 1
    assert nesting_depth("[" * 100000) == 100000  # no recursion, however deep


def test_a_body_within_the_depth_limit_is_still_read(client) -> None:
    response = client.post("/api/run", json={"x0": [0.5, -0.5], "steps": 10})
    assert response.status_code == 200, response.text
    # brackets inside a string do not count towards the depth
    refused = client.post("/api/run", json={"method": "[" * 50})
    assert refused.status_code == 400 and refused.json()["parameter"] == "method"


@pytest.mark.parametrize("body", [
    b'{"steps": ' + b"9" * 5000 + b"}",   # beyond Python's int-from-string limit: was a 422
    b'{"lr": ' + b"9" * 400 + b"}",       # too large for a float: OverflowError, was a 422
    b'{"seed": ' + b"9" * 30 + b"}",
])
def test_oversized_integers_are_a_400_on_body(client, body) -> None:
    _body_refused(client.post("/api/run", content=body, headers=JSON))


def test_finite_json_walks_without_recursion() -> None:
    deep: list = []
    for _ in range(100000):
        deep = [deep]
    assert finite_json(deep) is deep
    with pytest.raises(ParamError, match="finite"):
        finite_json([[[{"a": [float("nan")]}]]])


# ------------------------------------------------------------------------------------ Host, Origin
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8050", "127.0.0.1:9999",
                                  "localhost.evil.example:8050", "", "[::1", "a:b:c"])
def test_a_foreign_host_header_is_refused(host) -> None:
    client = TestClient(create_app(port=8050), base_url=LOCAL)
    for response in (client.get("/", headers={"Host": host}),
                     client.get("/api/meta", headers={"Host": host}),
                     client.post("/api/run", json={}, headers={"Host": host})):
        assert response.status_code == 400, (host, response.text)
        assert response.json()["parameter"] == "Host"
    assert client.get("/api/health").status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1:8050", "localhost:8050", "LOCALHOST:8050",
                                  "[::1]:8050"])
def test_the_loopback_names_are_served(host) -> None:
    client = TestClient(create_app(port=8050), base_url=LOCAL)
    assert client.get("/api/meta", headers={"Host": host}).status_code == 200


def test_the_bound_host_is_served_and_a_wildcard_accepts_addresses() -> None:
    named = TestClient(create_app(host="explorer.lan", port=8080), base_url="http://explorer.lan:8080")
    assert named.get("/api/meta").status_code == 200
    assert named.get("/api/meta", headers={"Host": "127.0.0.1:8080"}).status_code == 200
    assert named.get("/api/meta", headers={"Host": "evil.example:8080"}).status_code == 400
    wild = TestClient(create_app(host="0.0.0.0", port=8080), base_url="http://192.168.1.4:8080")
    assert wild.get("/api/meta").status_code == 200
    assert wild.get("/api/meta", headers={"Host": "evil.example:8080"}).status_code == 400
    anyport = TestClient(create_app(), base_url="http://localhost:51234")  # port unknown: any
    assert anyport.get("/api/meta").status_code == 200


def test_a_cross_origin_post_is_refused_even_as_text_plain(client) -> None:
    # A page on another site can send this without a CORS preflight.
    forged = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    for path in ("/api/run", "/api/net/session"):
        response = client.post(path, content=b'{"steps": 10}', headers=forged)
        assert response.status_code == 403, response.text
        assert response.json()["parameter"] == "Origin"
    s = client.post("/api/net/session", json={}).json()
    assert client.delete(f"/api/net/{s['id']}", headers={"Origin": "null"}).status_code == 403
    cross_site = client.post("/api/run", json={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    # the same origin, and a client that sends no Origin (curl, scripts), are served
    same = client.post("/api/run", json={"steps": 10}, headers={"Origin": LOCAL})
    assert same.status_code == 200, same.text
    assert client.post("/api/run", json={"steps": 10}).status_code == 200
    assert client.delete(f"/api/net/{s['id']}", headers={"Origin": LOCAL}).json()["deleted"]


# ------------------------------------------------------------------------------------ work
def test_one_train_request_cannot_hold_the_server_for_seconds(client) -> None:
    meta = client.get("/api/meta").json()["network"]
    assert meta["max_work"] == network.MAX_WORK
    s = client.post("/api/net/session", json={"points": 1000, "hidden": [32] * 6,
                                              "batch_size": 1000}).json()
    started = time.perf_counter()
    response = client.post(f"/api/net/{s['id']}/train", json={"batches": 200})  # was 8.4 s
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400 and response.json()["parameter"] == "batches"
    message = response.json()["error"]
    assert "at most 11 batches" in message and f"{network.MAX_WORK:.3g}" in message
    fits = client.post(f"/api/net/{s['id']}/train", json={"batches": 11})
    assert fits.status_code == 200 and fits.json()["updates"] == 11


def test_the_largest_request_the_page_can_make_is_served(client) -> None:
    # network.html: points <= 1000, batch size <= 200, batches per frame <= 50, 6 x 32 widths
    s = client.post("/api/net/session", json={"points": 1000, "hidden": [32] * 6,
                                              "batch_size": 200}).json()
    frame = client.post(f"/api/net/{s['id']}/train", json={"batches": 50})
    assert frame.status_code == 200, frame.text
    small = client.post("/api/net/session", json={"batch_size": 1}).json()  # the slider's end
    assert client.post(f"/api/net/{small['id']}/train",
                       json={"batches": network.MAX_BATCHES}).status_code == 200


# ------------------------------------------------------------------------------------ QA 2
@pytest.mark.parametrize("hidden, words", [
    ("abc", 'comma-separated positive integers such as "8,8" (empty for none), got "abc"'),
    ([None], "comma-separated positive integers"),   # the page's old [NaN]: "got None (NoneType)"
    ([8.0], "comma-separated positive integers"),
    ("8,,8", 'got "8,,8"'),
    ("-3", 'got "-3"'),
    ("8;8", 'got "8;8"'),
    (8, "comma-separated positive integers"),
    ("0", 'each hidden width must be from 1 to 32, got 0 in "0"'),
    ("8, 100", 'from 1 to 32, got 100 in "8, 100"'),
    ("8,8,8,8,8,8,8", 'at most 6 layers, got 7 in "8,8,8,8,8,8,8"'),
])
def test_hidden_widths_are_refused_in_the_fields_terms(client, hidden, words) -> None:
    response = client.post("/api/net/session", json={"hidden": hidden})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["parameter"] == "hidden"
    assert words in body["error"]
    assert "None" not in body["error"].replace("[None]", "")  # no Python type names


@pytest.mark.parametrize("hidden, sizes", [("8, 4", [2, 8, 4, 1]), ("", [2, 1]), ("  ", [2, 1]),
                                           (" 16 ", [2, 16, 1]), ([3], [2, 3, 1])])
def test_hidden_widths_as_typed_start_a_session(client, hidden, sizes) -> None:
    response = client.post("/api/net/session", json={"hidden": hidden})
    assert response.status_code == 200, response.text
    assert response.json()["sizes"] == sizes
    assert response.json()["settings"]["hidden"] == sizes[1:-1]


def test_a_long_hidden_text_is_quoted_short() -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    message = client.post("/api/net/session", json={"hidden": "x" * 5000}).json()["error"]
    assert len(message) < 200 and 'got "xxxx' in message and message.endswith('xxxx…')


def test_the_trace_names_the_output_logit_and_its_probability(client) -> None:
    s = client.post("/api/net/session", json={"hidden": [5]}).json()
    trace = client.post(f"/api/net/{s['id']}/step", json={}).json()["trace"]
    output = trace["layers"][-1]
    assert output["a"] == output["z"] == [trace["logit"]]  # no activation on the output layer
    assert trace["probability"] == pytest.approx(1 / (1 + np.exp(-trace["logit"])), rel=1e-12)


def test_the_boundary_has_12_bits_so_the_decision_line_is_smooth(client) -> None:
    s = client.post("/api/net/session", json={"hidden": [4]}).json()
    frame = s["frame"]
    assert frame["levels"] == network.BOUNDARY_LEVELS == 4095
    values = np.array(frame["boundary"])
    assert values.min() >= 0 and values.max() <= 4095
    assert len(np.unique(values)) > 256  # more distinct levels than 8 bits had


def test_the_rate_of_a_31_d_problem_summarises_its_minimiser(client) -> None:
    r = client.post("/api/run", json={"problem": "logistic_regression", "lr": 0.5}).json()
    basis = r["rate"]["theory_basis"]
    assert basis.startswith("local, Hessian at x* (31-D, ‖x*‖ = ")
    assert basis.count(",") == 2 and len(basis) < 60  # 31 coordinates were listed
    two = client.post("/api/run", json={"problem": "rosenbrock", "lr": 0.001}).json()
    assert two["rate"]["theory_basis"] == "local, Hessian at x* = (1, 1)"
