"""Data is never damaged silently (issue 10, items 3 and 4): extreme magnitudes, ambiguous
headers, complex input, float32 overflow on load, and all-or-nothing fits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import steepest as st
from steepest import data, nn, optim, train


# --------------------------------------------------------------------------- Standardizer
@pytest.mark.parametrize("magnitude", [1e300, 1e307, 1.7e308, 1e-300])
def test_standardizer_near_the_limits_of_float64_keeps_the_spread(magnitude):
    X = np.array([[1.0], [2.0], [3.0], [4.0]]) / 4 * magnitude
    z = data.Standardizer().fit_transform(X)
    expected = (np.arange(1.0, 5.0) - 2.5) / np.std(np.arange(1.0, 5.0))
    np.testing.assert_allclose(z[:, 0], expected, rtol=1e-12)


def test_standardizer_float32_near_its_limit():
    X = (np.array([[1.0], [2.0], [3.0]]) * 1e38).astype(np.float32)
    z = data.Standardizer().fit_transform(X)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 0], [-1.2247449, 0.0, 1.2247449], rtol=1e-5)


def test_standardizer_of_opposite_extremes_does_not_overflow():
    X = np.array([[0.0, -1.7e308], [1.0, 1.7e308]])
    s = data.Standardizer().fit(X)
    np.testing.assert_allclose(s.transform(X), [[-1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, rtol=1e-15)


@settings(max_examples=60, deadline=None)
@given(exponent=hs.integers(-300, 300), values=hs.lists(hs.floats(-10, 10), min_size=2,
                                                        max_size=20))
def test_standardizer_is_scale_invariant(exponent, values):
    X = np.array(values).reshape(-1, 1)
    scale = 10.0 ** exponent
    a = data.Standardizer().fit_transform(X)
    b = data.Standardizer().fit_transform(X * scale)
    if np.std(X) > 1e-9 * max(np.max(np.abs(X)), 1.0):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_standardizer_unchanged_results_on_ordinary_data():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(50, 4))
    s = data.Standardizer().fit(X)
    np.testing.assert_array_equal(s.mean_, X.mean(axis=0))
    np.testing.assert_allclose(s.scale_, X.std(axis=0), rtol=1e-15)


def test_standardizer_fit_is_all_or_nothing():
    s = data.Standardizer().fit(np.array([[1.0, 2.0], [3.0, 5.0]]))
    mean, scale = s.mean_.copy(), s.scale_.copy()
    for bad in (np.array([[np.nan, 1.0], [1.0, 2.0]]), np.zeros((0, 2)),
                np.array([["a", "b"]]), np.ones(3), np.array([[1j, 1.0]])):
        with pytest.raises((ValueError, TypeError)):
            s.fit(bad)
        np.testing.assert_array_equal(s.mean_, mean)
        np.testing.assert_array_equal(s.scale_, scale)


# --------------------------------------------------------------------------- CSV
def test_csv_header_repeating_the_target_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,y,b,y\n1,0,2,5\n3,1,4,6\n")
    with pytest.raises(ValueError, match=r"'y' 2 times \(columns \[2, 4\]\)"):
        data.load_csv(path, target="y")


def test_csv_repeated_feature_names_are_still_readable(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,y\n1,2,0\n3,4,1\n")
    assert data.load_csv(path, target="y").X.shape == (2, 2)


def test_csv_not_utf8_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("x,y\n1,caf\xe9\n2,b\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8.*0xe9"):
        data.load_csv(path, target="y")


def test_csv_huge_field_is_a_value_error_naming_the_line(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("x,y\n1,0\n\"" + "9" * 200_000 + "\",1\n")
    with pytest.raises(ValueError, match="line 3 cannot be read as CSV"):
        data.load_csv(path, target="y")


# --------------------------------------------------------------------------- NPZ
def test_truncated_npz_is_a_value_error(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.random.default_rng(0).normal(size=(200, 5)), y=np.arange(200) % 2)
    raw = path.read_bytes()
    for cut in (len(raw) // 3, len(raw) - 30, 20):
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError):
            data.load_npz(path)


def test_complex_npz_features_are_refused_not_cast(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, X=np.ones((4, 2)) * (1 + 2j), y=np.array([0, 1, 0, 1]))
    with pytest.raises(TypeError, match="complex"):
        data.load_npz(path)


# --------------------------------------------------------------------------- complex into a model
def _model():
    st.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


@pytest.mark.parametrize("which", ["X", "y"])
def test_fit_refuses_complex_data(which):
    X, y = np.ones((8, 2)), np.ones(8)
    if which == "X":
        X = X + 1j
    else:
        y = y + 1j
    model = _model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(TypeError, match=f"train {which} is complex"):
        train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), (X, y),
                  progress=False)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_predict_and_evaluate_refuse_complex():
    model = _model()
    with pytest.raises(TypeError, match="complex"):
        train.predict(model, np.ones((2, 2)) * 1j)
    with pytest.raises(TypeError, match="complex"):
        train.evaluate(model, nn.MSELoss(), (np.ones((2, 2)) * 1j, np.ones(2)))


# --------------------------------------------------------------------------- float32 overflow on load
def test_loading_float64_values_that_overflow_float32_is_refused_naming_the_tensor():
    model = _model()
    assert model[0].weight.dtype == np.float32
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    state["0.bias"][:] = 1.0  # a good tensor first: it must not be written either
    state["2.weight"][0, 1] = 1e300
    with pytest.raises(ValueError, match=r"'2\.weight'.*overflow float32") as info:
        model.load_state_dict(state)
    assert "0.bias" not in str(info.value)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_loading_large_but_representable_and_infinite_values_into_float32():
    model = _model()
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    state["2.weight"][0, 0] = 3e38
    state["2.weight"][0, 1] = np.inf  # already infinite: not an overflow of the conversion
    model.load_state_dict(state)
    assert model[2].weight.data[0, 0] == np.float32(3e38)


def test_loading_complex_into_a_real_model_is_refused():
    model = _model()
    state = {k: v.astype(np.complex128) for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="complex128"):
        model.load_state_dict(state)
