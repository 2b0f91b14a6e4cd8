"""steepest.nn.utils against torch.nn.utils (golden values from tools/make_nn_utils_golden.py)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import steepest as st
from steepest.nn import utils

GOLDEN = np.load(pathlib.Path(__file__).parents[1] / "golden" / "nn" / "utils.npz",
                 allow_pickle=False)
N_PARAMS = 3


def params_with_grads():
    params = []
    for i in range(N_PARAMS):
        p = st.tensor(GOLDEN[f"param{i}"].copy(), requires_grad=True)
        p.grad = GOLDEN[f"grad{i}"].copy()
        params.append(p)
    return params


@pytest.mark.parametrize("k", range(len(GOLDEN["cases"])))
def test_clip_grad_norm_matches_torch(k):
    max_norm, norm_type = GOLDEN["cases"][k]
    params = params_with_grads()
    total = utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total, GOLDEN[f"norm/{k}/total"], rtol=1e-12)
    for i, p in enumerate(params):
        np.testing.assert_allclose(p.grad, GOLDEN[f"norm/{k}/grad{i}"], rtol=1e-12, atol=1e-15)


def test_clip_grad_value_and_parameters_to_vector_match_torch():
    params = params_with_grads()
    utils.clip_grad_value_(params, 0.7)
    for i, p in enumerate(params):
        np.testing.assert_array_equal(p.grad, GOLDEN[f"value/grad{i}"])
    np.testing.assert_array_equal(utils.parameters_to_vector(params).data, GOLDEN["vector"])


def test_vector_round_trip_bumps_versions_and_refuses_bad_vectors():
    params = params_with_grads()
    w = params[0]
    loss = (w * w).sum()
    vector = utils.parameters_to_vector(params).data
    utils.vector_to_parameters(vector * 2, params)
    np.testing.assert_array_equal(utils.parameters_to_vector(params).data, vector * 2)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()  # w changed after the graph was recorded
    with pytest.raises(ValueError, match="entries"):
        utils.vector_to_parameters(vector[:-1], params)
    with pytest.raises(ValueError, match="1-D"):
        utils.vector_to_parameters(vector.reshape(1, -1), params)
    np.testing.assert_array_equal(utils.parameters_to_vector(params).data, vector * 2)  # untouched


def test_clipping_skips_missing_gradients_and_checks_its_arguments():
    a, b = st.tensor(np.ones(2), requires_grad=True), st.tensor(np.ones(2), requires_grad=True)
    a.grad = np.array([3.0, 4.0])
    assert utils.clip_grad_norm_([a, b], 1.0) == pytest.approx(5.0)
    assert b.grad is None
    with pytest.raises(ValueError, match="max_norm"):
        utils.clip_grad_norm_([a], 0.0)
    with pytest.raises(ValueError, match="clip_value"):
        utils.clip_grad_value_([a], -1.0)
    with pytest.raises(TypeError, match="dtypes"):
        utils.parameters_to_vector([a, st.tensor(np.ones(2, np.float32), requires_grad=True)])


def test_fit_clips_through_nn_utils():
    from steepest import train

    assert train.clip_grad_norm_ is utils.clip_grad_norm_
