"""fit(clip_grad_value=...) is the PyTorch loop with nn.utils.clip_grad_value_ before step()."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import nn, optim
from steepest.train import fit


def _model():
    st.manual_seed(5)
    return nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(),
                         nn.Linear(4, 1, dtype=np.float64))


def test_fit_clips_each_gradient_entry_as_the_handwritten_loop_does():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)) * 5, rng.normal(size=(20, 1)) * 5
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.05)
    fit(model, nn.MSELoss(), opt, (X, y), epochs=2, batch_size=5, shuffle=False,
        clip_grad_value=0.1, progress=False)

    manual = _model()
    manual_opt = optim.SGD(manual.parameters(), lr=0.05)
    loss_fn = nn.MSELoss()
    for _ in range(2):
        for start in range(0, 20, 5):
            loss = loss_fn(manual(X[start:start + 5]), y[start:start + 5])
            manual_opt.zero_grad()
            loss.backward()
            assert max(np.abs(p.grad).max() for p in manual.parameters()) > 0.1  # clipping bites
            nn.utils.clip_grad_value_(manual.parameters(), 0.1)
            manual_opt.step()
    for a, b in zip(model.parameters(), manual.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_fit_refuses_a_non_positive_clip_value():
    with pytest.raises(ValueError, match="fit: clip_grad_value must be in"):
        model = _model()
        fit(model, nn.MSELoss(), optim.SGD(model.parameters()), (np.ones((4, 3)), np.ones((4, 1))),
            clip_grad_value=0.0, progress=False)
