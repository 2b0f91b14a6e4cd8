"""QA regressions of the sweep report: A4, a schedule string on the lr axis still gives a heatmap
(lr as categorical labels), and a figure that cannot be drawn is said so on the page; A5, a method
whose every run failed or diverged is reported as such, never with a "best setting", and has no
line in the plots."""

from __future__ import annotations

import pytest

from steepest import sweep, sweep_report

pytest.importorskip("matplotlib")


def _record(out, rows):
    connection = sweep.open_database(out)
    for config, outcome in rows:
        sweep._record(connection, config, outcome)
    connection.close()


def _done(loss, history=None, diverged=False):
    return {"status": "done", "final_loss": None if diverged else loss, "seconds": 0.01,
            "history": history or [10.0, 1.0, loss], "metrics": {"diverged": diverged}}


def _grid(methods, lrs, momenta, seeds, outcome):
    return [({"kind": "minimize", "problem": "rosenbrock", "method": m, "lr": lr, "momentum": mo,
              "seed": s}, outcome(m, lr, mo, s))
            for m in methods for lr in lrs for mo in momenta for s in seeds]


# ------------------------------------------------------------------------------------ A4
def _schedule_grid(tmp_path):
    def outcome(method, lr, momentum, seed):
        if lr == "1/t":  # the schedule diverges with the larger momentum only
            return _done(None, [24.2, 1e5], diverged=True) if momentum == 0.9 else _done(0.5)
        return _done(lr * (1 + seed) + momentum)
    _record(tmp_path, _grid(["momentum", "nesterov"], [1e-3, 1e-2, "1/t"], [0.5, 0.9], [0, 1],
                            outcome))
    return sweep.read_runs(tmp_path)


def test_a_schedule_on_the_lr_axis_still_draws_the_heatmap(tmp_path):
    rows = _schedule_grid(tmp_path)
    drawn = sweep_report.heatmap(rows)
    assert drawn is not None, "no heatmap for an lr axis with a schedule string"
    figure, second = drawn
    assert second == "momentum"
    panels = [ax for ax in figure.axes if ax.get_title() in ("momentum", "nesterov")]
    assert len(panels) == 2
    for ax in panels:  # every setting of the sweep is a column: the numbers, then the schedule
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.001", "0.01", "1/t"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0.5", "0.9"]
    page = sweep_report.write_report(tmp_path)
    assert (tmp_path / "report" / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text(encoding="utf-8")
    assert 'src="heatmap.png"' in text
    # the lr figure has a numeric axis: the page says where the schedule's runs are
    assert "1/t" in text and "not on the learning-rate axis" in text


def test_a_figure_that_cannot_be_drawn_is_said_so_on_the_page(tmp_path):
    _record(tmp_path, [({"kind": "minimize", "problem": "quadratic", "method": "gd", "lr": lr},
                        _done(1.0, [2.0, 1.0])) for lr in ("1/t", "0.5/t")])
    page = sweep_report.write_report(tmp_path).read_text(encoding="utf-8")
    assert not (tmp_path / "report" / "heatmap.png").exists()
    assert "No heatmap" in page and "second axis" in page
    assert "No learning-rate sensitivity figure" in page and "'1/t'" in page


# ------------------------------------------------------------------------------------ A5
def _one_method_all_failed(tmp_path):
    def outcome(method, lr, momentum, seed):
        if method == "gd":
            return {"status": "failed", "error": "TypeError: minimize: method 'gd' takes no "
                                                 "option 'momentum'"}
        if method == "nesterov":
            return _done(None, [24.2, 1e5], diverged=True)
        return _done(lr * (1 + seed) + momentum)
    _record(tmp_path, _grid(["gd", "momentum", "nesterov"], [1e-3, 1e-2], [0.5, 0.9], [0, 1, 2],
                            outcome))
    return sweep.read_runs(tmp_path)


def test_a_method_whose_runs_all_failed_has_no_best_setting(tmp_path):
    rows = _one_method_all_failed(tmp_path)
    best = sweep_report.best_configs(rows)
    assert sorted(best) == ["momentum"]
    failed = sweep_report.failed_methods(rows)
    assert failed["gd"]["runs"] == 12 and "TypeError" in failed["gd"]["reasons"]
    assert failed["nesterov"]["runs"] == 12 and "12 diverged" in failed["nesterov"]["reasons"]
    page = sweep_report.write_report(tmp_path).read_text(encoding="utf-8")
    assert "all 12 runs failed (12 × TypeError: minimize: method 'gd' takes no option " \
           "'momentum')" in page
    assert "all 12 runs failed (12 diverged)" in page
    table = page.split("<table>")[1].split("</table>")[0]
    assert ">inf<" not in table and table.count("<tr>") == 1 + 3  # the header, a row per method


@pytest.mark.parametrize("draw", ["lr_sensitivity", "best_curves"])
def test_a_method_whose_runs_all_failed_has_no_line_in_the_plots(tmp_path, draw):
    rows = _one_method_all_failed(tmp_path)
    if draw == "lr_sensitivity":
        figure = sweep_report.lr_sensitivity(rows)
    else:
        figure = sweep_report.best_curves(sweep_report.best_configs(rows),
                                          sweep_report.failed_methods(rows))
    (ax,) = figure.axes
    entries = {text.get_text(): handle for text, handle in
               zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles, strict=True)}
    assert "momentum" in entries
    for name in ("gd", "nesterov"):
        assert name not in entries  # no entry as if it had points
        marked = [t for t in entries if t.startswith(name)]
        assert marked == [f"{name} (all 12 runs failed)"], list(entries)
        handle = entries[marked[0]]  # the mark draws nothing: no line, no marker
        assert handle.get_linestyle() == "None" and str(handle.get_marker()).lower() in ("none", "")
        drawn = [line for line in ax.get_lines() if str(line.get_label()).startswith(name)
                 and len(line.get_xdata())]
        assert not drawn
