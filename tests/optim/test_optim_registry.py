"""optim.OPTIMIZERS and optim.create: every optimizer by name, with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import steepest as st
from steepest import optim


def test_the_table_names_every_optimizer_class():
    assert optim.OPTIMIZERS == {
        "sgd": optim.SGD, "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop,
        "adam": optim.Adam, "adamw": optim.AdamW, "adadelta": optim.Adadelta,
        "adamax": optim.Adamax, "nadam": optim.NAdam, "radam": optim.RAdam,
        "rprop": optim.Rprop, "asgd": optim.ASGD, "adafactor": optim.Adafactor,
        "lion": optim.Lion, "schedule_free_adamw": optim.ScheduleFreeAdamW, "lbfgs": optim.LBFGS,
    }


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_create_is_the_class_with_its_defaults(name):
    w = st.tensor([1.0, -2.0], requires_grad=True)
    created = optim.create(name, [w])
    direct = optim.OPTIMIZERS[name]([st.tensor([1.0, -2.0], requires_grad=True)])
    assert type(created) is optim.OPTIMIZERS[name]
    assert {k: v for k, v in created.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in direct.param_groups[0].items() if k != "params"}


def test_create_passes_the_hyperparameters_and_steps_like_the_class():
    w = st.tensor([1.0, -2.0], requires_grad=True)
    v = st.tensor([1.0, -2.0], requires_grad=True)
    created = optim.create("sgd", [w], lr=0.1, momentum=0.9, nesterov=True)
    direct = optim.SGD([v], lr=0.1, momentum=0.9, nesterov=True)
    for _ in range(3):
        for p, opt in ((w, created), (v, direct)):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
    np.testing.assert_array_equal(w.data, v.data)
    assert created.param_groups[0]["momentum"] == 0.9 and created.param_groups[0]["nesterov"]


def test_hyperparameters_lists_the_constructor_arguments():
    assert optim.hyperparameters("adam")[:4] == ("lr", "betas", "eps", "weight_decay")
    assert "momentum" in optim.hyperparameters("sgd")
    assert "params" not in optim.hyperparameters("sgd")
    with pytest.raises(ValueError, match="optim.hyperparameters: name must be one of"):
        optim.hyperparameters("newton")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="optim.create: name must be one of 'sgd', 'adagrad', "
                                         "'rmsprop', 'adam', 'adamw', 'adadelta', 'adamax', "
                                         "'nadam', 'radam', 'rprop', 'asgd', 'adafactor', "
                                         "'lion', 'schedule_free_adamw', 'lbfgs'; got "
                                         "'newton'"):
        optim.create("newton", [st.tensor([1.0], requires_grad=True)])


def test_a_hyperparameter_of_other_optimizers_names_them():
    w = st.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="^momentum does not apply to adam; it applies to: sgd, "
                                        "rmsprop$"):
        optim.create("adam", [w], momentum=0.9)
    with pytest.raises(TypeError, match="^betas does not apply to sgd; it applies to: adam, "
                                        "adamw, adamax, nadam, radam, lion, "
                                        "schedule_free_adamw$"):
        optim.create("sgd", [w], betas=(0.9, 0.99))


def test_a_hyperparameter_of_no_optimizer_lists_the_accepted_ones():
    w = st.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="bogus does not apply to adagrad or to any other "
                                        "optimizer; adagrad takes: lr, lr_decay, weight_decay"):
        optim.create("adagrad", [w], bogus=1)
    with pytest.raises(TypeError, match="name does not apply to adam"):
        optim.create("adam", [w], name="x")  # name and params are positional only


def test_values_are_still_checked_by_the_class():
    with pytest.raises(ValueError, match=r"Adam: betas\[0\] must be in \[0, 1\)"):
        optim.create("adam", [st.tensor([1.0], requires_grad=True)], betas=(1.0, 0.999))
