"""steepest.plot: every figure renders headless to a valid PNG of the promised size, with labelled
axes, log axes where promised, and matplotlib imported only when a figure is made."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from steepest import plot, problems, schedules

DPI = 50  # small images keep the rendering cheap; sizes are checked against figsize * dpi


def png_size(path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking signature and chunk CRC."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", raw[8:16])
    assert kind == b"IHDR" and length == 13
    body = raw[16:16 + length]
    (crc,) = struct.unpack(">I", raw[16 + length:20 + length])
    assert zlib.crc32(kind + body) == crc, "corrupt IHDR chunk"
    assert raw[-8:-4] == b"IEND", "PNG has no IEND chunk (truncated)"
    width, height = struct.unpack(">II", body[:8])
    return width, height


def render(fig, tmp_path, name: str) -> tuple[int, int]:
    """Save at DPI and check the file against the figure's size in inches."""
    expected = tuple(round(v * DPI) for v in fig.get_size_inches())
    path = plot.save(fig, tmp_path / name, dpi=DPI)
    assert path.suffix == ".png"
    size = png_size(path)
    assert abs(size[0] - expected[0]) <= 1 and abs(size[1] - expected[1]) <= 1, (size, expected)
    from matplotlib.image import imread
    image = imread(path)
    assert image.shape[:2] == (size[1], size[0])
    assert image.std() > 0.01, "the image is blank"
    return size


def gd_run(problem, lr: float, steps: int, x0=None, label: str = "gd") -> dict:
    """A plain gradient-descent trace in the OptimizeResult layout the plots read."""
    x = np.array(problem.x0 if x0 is None else x0, dtype=float)
    path, fvals, norms = [x.copy()], [problem.value(x)], [np.linalg.norm(problem.grad(x))]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            x = x - lr * problem.grad(x)
            path.append(x.copy())
            fvals.append(problem.value(x))
            norms.append(np.linalg.norm(problem.grad(x)))
    return {"path": np.array(path), "fvals": np.array(fvals), "grad_norms": np.array(norms),
            "nit": steps, "method": label, "x": x, "diverged": not np.isfinite(fvals[-1])}


def assert_labelled(fig) -> None:
    for axis in fig.axes:
        if axis.get_label() == "<colorbar>":
            continue
        assert axis.get_xlabel() and axis.get_ylabel(), f"unlabelled axes: {axis}"


@pytest.fixture(scope="module")
def rosenbrock():
    return problems.get("rosenbrock")


@pytest.fixture(scope="module")
def rosenbrock_runs(rosenbrock):
    return {"gd": gd_run(rosenbrock, 1e-3, 300), "gd small": gd_run(rosenbrock, 2e-4, 300)}


# ------------------------------------------------------------------------ trajectories
def test_trajectories_rosenbrock_png_with_log_levels(tmp_path, rosenbrock, rosenbrock_runs):
    fig = plot.trajectories(rosenbrock, rosenbrock_runs)
    axis = fig.axes[0]
    assert axis.get_xlabel() == "$x_1$" and axis.get_ylabel() == "$x_2$"
    contour = next(c for c in axis.collections if hasattr(c, "levels"))
    ratios = contour.levels[1:] / contour.levels[:-1]
    assert np.allclose(ratios, ratios[0]) and ratios[0] > 1.2, "levels should be log-spaced"
    labels = axis.get_legend().get_texts()
    assert any("gd: 300 it." in t.get_text() for t in labels)
    assert any("minimiser" in t.get_text() for t in labels)
    render(fig, tmp_path, "rosenbrock")


def test_trajectories_saddle_uses_linear_levels_and_marks_saddle(tmp_path):
    problem = problems.get("saddle")
    fig = plot.trajectories(problem, [gd_run(problem, 0.1, 40)])
    axis = fig.axes[0]
    contour = next(c for c in axis.collections if hasattr(c, "levels"))
    assert np.allclose(np.diff(contour.levels), np.diff(contour.levels)[0])
    assert any(t.get_text() == "saddle point" for t in axis.get_legend().get_texts())
    render(fig, tmp_path, "saddle")


def test_trajectories_into_given_axes_and_diverged_run(tmp_path):
    problem = problems.get("quadratic", kappa=20.0)
    fig, (left, right) = plot.new_figure(2, figsize=(10, 4))
    diverged = gd_run(problem, 2.5 / problem.L, 1000)
    assert plot.trajectories(problem, {"too large": diverged}, ax=left) is fig
    assert left.get_legend().get_texts()[0].get_text() == "too large: 1000 it. (diverged)"
    plot.convergence({"too large": diverged}, problem=problem, ax=right)
    assert right.get_yscale() == "log"
    render(fig, tmp_path, "given_axes")


def test_trajectories_refuses_other_dimensions():
    problem = problems.get("rosenbrock", dim=3)
    with pytest.raises(ValueError, match="2-D problem.*dim=3"):
        plot.trajectories(problem, [gd_run(problem, 1e-3, 5)])


def test_plots_refuse_empty_results(rosenbrock):
    with pytest.raises(ValueError, match="results is empty"):
        plot.convergence({})


# ------------------------------------------------------------------------ convergence
def test_convergence_two_log_panels(tmp_path, rosenbrock, rosenbrock_runs):
    fig = plot.convergence(rosenbrock_runs, problem=rosenbrock)
    assert [a.get_yscale() for a in fig.axes] == ["log", "log"]
    assert fig.axes[0].get_ylabel().startswith("f(xₙ) − f*")
    assert fig.axes[1].get_ylabel() == "‖∇f(xₙ)‖"
    assert_labelled(fig)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["gd", "gd small"]
    render(fig, tmp_path, "convergence")


def test_convergence_plots_the_error_values(rosenbrock, rosenbrock_runs):
    fig = plot.convergence(rosenbrock_runs, f_min=0.0, quantity="error")
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), rosenbrock_runs["gd"]["fvals"])


def test_convergence_without_known_minimum_says_so():
    problem = problems.get("saddle")
    run = gd_run(problem, 0.1, 30)
    fig = plot.convergence([run], quantity="error")
    assert "lowest f seen" in fig.axes[0].get_ylabel()


def test_convergence_checks_its_arguments(rosenbrock_runs):
    with pytest.raises(ValueError, match="quantity must be one of"):
        plot.convergence(rosenbrock_runs, quantity="loss")
    with pytest.raises(ValueError, match="f_min"):
        plot.convergence(rosenbrock_runs, f_min=float("nan"))


# ------------------------------------------------------------------------ training curves
HISTORY = {
    "epoch": [1, 2, 3, 4, 5, 6],
    "loss": [2.0, 0.9, 0.4, 0.2, 0.1, 0.06],
    "val_loss": [2.1, 1.0, 0.5, 0.35, 0.33, 0.36],
    "accuracy": [0.3, 0.7, 0.85, 0.93, 0.97, 0.99],
    "val_accuracy": [0.28, 0.66, 0.8, 0.88, 0.9, 0.89],
    "lr": [1e-3] * 6, "time": [0.1] * 6,
}


def test_loss_curves_panels_and_best_epoch(tmp_path):
    fig = plot.loss_curves(HISTORY)
    loss_axis, accuracy_axis = fig.axes
    assert loss_axis.get_yscale() == "log"  # the loss fell by more than 20x
    assert accuracy_axis.get_ylabel() == "accuracy"
    assert_labelled(fig)
    assert any("epoch 5" in t.get_text() for t in loss_axis.get_legend().get_texts())
    texts = [t.get_text() for t in loss_axis.get_legend().get_texts()]
    assert texts[:2] == ["training", "validation"]
    render(fig, tmp_path, "loss_curves")


def test_loss_curves_reads_a_history_object():
    from steepest.train import History
    fig = plot.loss_curves(History({"epoch": [1, 2], "loss": [1.0, 0.8]}))
    assert len(fig.axes) == 1 and fig.axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="no 'loss'"):
        plot.loss_curves({"accuracy": [0.5]})


# ------------------------------------------------------------------------ schedules
def test_schedule_figure_shows_robbins_monro(tmp_path):
    fig = plot.schedule(schedules.inverse_power(0.5, 1.0), steps=300)
    lr_axis, sums_axis = fig.axes
    assert lr_axis.get_yscale() == "log"
    assert sums_axis.get_xscale() == "log" and sums_axis.get_yscale() == "log"
    assert "Robbins–Monro: satisfied" in fig._suptitle.get_text()
    np.testing.assert_allclose(lr_axis.get_lines()[0].get_ydata(), 0.5 / np.arange(1, 301))
    assert_labelled(fig)
    render(fig, tmp_path, "schedule")


def test_schedule_accepts_any_callable_and_checks():
    fig = plot.schedule(lambda t: 0.1, steps=10)
    assert "Robbins" not in fig._suptitle.get_text()
    assert fig.axes[0].get_yscale() == "linear"
    with pytest.raises(TypeError, match="callable"):
        plot.schedule(0.1)
    with pytest.raises(ValueError, match="steps"):
        plot.schedule(lambda t: 0.1, steps=1)


# ------------------------------------------------------------------------ confusion matrix
def test_confusion_matrix_annotates_counts(tmp_path):
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 2])
    fig = plot.confusion_matrix(y_true, y_pred, class_names=["a", "b", "c"])
    axis = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in axis.texts}
    assert cells == {(0, 0): "1", (0, 1): "1", (1, 1): "2", (1, 2): "1", (2, 2): "1"}
    assert axis.get_xlabel() == "predicted class" and axis.get_ylabel() == "true class"
    assert "66.7%" in axis.get_title()
    render(fig, tmp_path, "confusion")


@settings(max_examples=25, deadline=None)
@given(st_.lists(st_.tuples(st_.integers(0, 4), st_.integers(0, 4)), min_size=1, max_size=60))
def test_confusion_counts_match_a_direct_count(pairs):
    y_true, y_pred = map(np.array, zip(*pairs, strict=True))
    matrix = plot._confusion_counts(y_true, y_pred, 5)
    for i in range(5):
        for j in range(5):
            assert matrix[i, j] == sum(1 for t, p in pairs if (t, p) == (i, j))


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(ValueError, match="has 3 entries but y_pred has 2"):
        plot.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="class indices"):
        plot.confusion_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match="only 2 class names"):
        plot.confusion_matrix([0, 2], [0, 1], class_names=["a", "b"])


# ------------------------------------------------------------------------ image grid
def test_image_grid_of_flat_digits(tmp_path):
    images = np.arange(10 * 64, dtype=float).reshape(10, 64) % 17
    fig = plot.image_grid(images, [f"true {k}" for k in range(10)], ncols=5)
    assert len(fig.axes) == 10
    assert fig.axes[3].get_title() == "true 3"
    assert fig.axes[0].get_images()[0].get_array().shape == (8, 8)
    render(fig, tmp_path, "grid")
    with pytest.raises(ValueError, match="not square"):
        plot.image_grid(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        plot.image_grid(np.zeros((3, 4, 4)), ["a", "b"])


def test_save_appends_png_suffix(tmp_path):
    fig = plot.schedule(lambda t: 1.0 / t, steps=5)
    path = plot.save(fig, tmp_path / "no_suffix", dpi=20)
    assert path.name == "no_suffix.png" and png_size(path) == (220, 84)


# ------------------------------------------------------------------------ backends
def run_python(code: str) -> str:
    """Run code in a fresh interpreter with no display and no backend chosen."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_steepest_does_not_import_matplotlib():
    out = run_python("""
        import sys, steepest, steepest.plot, steepest.experiments, steepest.report, steepest.cli
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'sklearn', 'tqdm')))
    """)
    assert out.strip() == "[]"


def test_headless_figures_choose_no_backend_and_stay_out_of_pyplot():
    out = run_python("""
        import sys, matplotlib
        from steepest import plot
        fig = plot.schedule(lambda t: 1.0 / t, steps=20)
        fig.savefig('/tmp/steepest-headless.png')
        print('matplotlib.pyplot' in sys.modules, matplotlib.get_backend(auto_select=False))
    """)
    assert out.split() == ["False", "None"]


def test_pyplot_users_get_pyplot_figures_and_save_releases_them(tmp_path):
    out = run_python(f"""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from steepest import plot
        fig = plot.schedule(lambda t: 1.0 / t, steps=20)
        before = plt.get_fignums()
        plot.save(fig, {str(tmp_path / 'x.png')!r}, dpi=20)
        print(len(before), len(plt.get_fignums()))
    """)
    assert out.split() == ["1", "0"]


def test_agg_is_chosen_for_pyplot_without_a_display():
    out = run_python("""
        import matplotlib
        from steepest import plot
        plt = plot._pyplot()
        print(matplotlib.get_backend().lower())
    """)
    assert out.strip() == "agg"


def test_a_chosen_backend_is_left_alone():
    out = run_python("""
        import matplotlib
        matplotlib.use("svg")
        from steepest import plot
        plot._pyplot()
        print(matplotlib.get_backend().lower())
    """)
    assert out.strip() == "svg"


def test_jupyter_inline_shows_each_figure_once():
    # Under the inline backend a figure left open in pyplot is shown at the end of the cell, and
    # the returned figure is shown again as the cell's value: plot keeps it out of pyplot.
    pytest.importorskip("IPython")
    pytest.importorskip("matplotlib_inline")
    out = run_python("""
        import matplotlib
        matplotlib.use("module://matplotlib_inline.backend_inline")
        from IPython.core.interactiveshell import InteractiveShell
        from matplotlib_inline.backend_inline import configure_inline_support
        shell = InteractiveShell.instance()
        configure_inline_support(shell, "inline")
        import matplotlib.pyplot as plt
        from steepest import plot
        fig = plot.schedule(lambda t: 1.0 / t, steps=20)
        shown, _ = shell.display_formatter.format(fig)
        print(len(plt.get_fignums()), "image/png" in shown)
    """)
    assert out.split() == ["0", "True"]


def test_save_is_sharp_by_default(tmp_path):
    fig = plot.schedule(lambda t: 1.0 / t, steps=20)
    width, height = fig.get_size_inches()
    path = plot.save(fig, tmp_path / "sharp.png")
    assert png_size(path) == (round(width * 150), round(height * 150))


def _runs_on(problem, methods=("gd", "adam", "momentum")):
    import steepest as st
    return {m: st.minimize(problem.value, problem.x0, jac=problem.grad, method=m, lr=1e-3,
                           max_iter=40) for m in methods}


def test_small_multiples_one_panel_per_method_on_shared_axes(tmp_path):
    rosen = problems.get("rosenbrock")
    runs = _runs_on(rosen)
    fig = plot.trajectory_grid(rosen, runs, ncols=2)
    panels = [a for a in fig.axes if a.get_visible() and a.axison]
    assert len(panels) == 3 and len([a for a in fig.axes if not a.axison]) == 1
    assert len({a.get_xlim() for a in panels}) == 1 and len({a.get_ylim() for a in panels}) == 1
    assert [a.get_title().split("\n")[0] for a in panels] == list(runs)
    render(fig, tmp_path, "grid.png")
    fig = plot.convergence_grid(runs, problem=rosen, ncols=3)
    assert len(fig.axes) == 3 and all(a.get_yscale() == "log" for a in fig.axes)
    assert len({a.get_ylim() for a in fig.axes}) == 1
    assert all(len(a.get_lines()) == 3 for a in fig.axes)  # its own run and the others in grey
    render(fig, tmp_path, "conv_grid.png")


@pytest.mark.parametrize("engine", ["matplotlib", "dot"])
def test_graph_draws_every_node(tmp_path, engine):
    import shutil

    import steepest as st
    if engine == "dot" and shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    x = st.tensor([1.0, -2.0], requires_grad=True)
    w = st.tensor([0.5, 0.25], requires_grad=True)
    out = st.tanh((w * x).sum())
    st.autodiff.retain_grads(out)
    out.backward()
    fig = plot.graph(out, {"x": x, "w": w}, engine=engine)
    if engine == "matplotlib":
        texts = [t.get_text() for t in fig.axes[0].texts]
        for label in ("x\n(2,)", "w\n(2,)", "mul\n(2,)", "sum\n()"):
            assert label in texts
        assert any(t.startswith("tanh") and "= " in t for t in texts)
        assert sum("grad" in t for t in texts) == 4  # one label per edge
    render(fig, tmp_path, f"graph_{engine}.png")
    with pytest.raises(ValueError, match="engine"):
        plot.graph(out, engine="neato")


def test_backprop_figure(tmp_path):
    import steepest as st
    st.manual_seed(0)
    model = st.nn.mlp(2, [3], 1, "tanh", dtype=np.float64)
    trace = st.nn.backprop_trace(model, st.nn.MSELoss(), np.ones((4, 2)), np.zeros((4, 1)))
    fig = trace.figure()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum(t.startswith("δ=") for t in texts) == 4  # three hidden units and the output
    assert "input a0 = X" in texts and any("layer 1: tanh" in t for t in texts)
    assert len(fig.axes[0].get_lines()) == 2 * 3 + 3 * 1  # one edge per weight
    render(fig, tmp_path, "backprop.png")
    assert "example 2" in plot.backprop(trace, example=2).axes[0].get_title()
    with pytest.raises(ValueError, match="example"):
        plot.backprop(trace, example=9)


def test_a_run_from_where_f_overflows_is_drawn_with_a_note(tmp_path):
    # from (1e200, 1e200) f is inf on the whole window: the contour levels had raised
    # 'zero-size array to reduction operation minimum which has no identity'
    import steepest as st
    p = problems.rosenbrock()
    with np.errstate(all="ignore"):
        result = st.minimize(p, [1e200, 1e200], method="gd", lr=1e-3, max_iter=5)
        fig = plot.trajectories(p, {"gd": result})
        curves = plot.convergence({"gd": result}, problem=p)
    assert "no contour lines" in " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "no finite values" in " ".join(t.get_text() for a in curves.axes for t in a.texts)
    render(fig, tmp_path, "overflow.png")
