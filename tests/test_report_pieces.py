"""Tables and figures: the report env has no PennyLane, and grids are labelled right."""

import dataclasses

import pytest
import torch
from workflow_helpers import fresh_python

from qdistill.artifacts import Distilled
from qdistill.config import load_config, run_settings
from qdistill.report.figures import image_grid


def test_report_modules_import_without_pennylane():
    code = ("import sys; sys.modules['pennylane'] = None\n"
            "import qdistill.artifacts, qdistill.logs\n"
            "from qdistill.report import cells, cost, extensions, figures, plotting, "
            "stability, table1, transfer\n"
            "print('ok')")
    assert fresh_python(code) == "ok"


def test_image_grid_labels_each_column_by_its_class():
    labels = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3]])
    settings = run_settings(load_config(overrides={"budget": "quick"}), "cifar10", "classical", 0)
    settings = dataclasses.replace(settings, dataset=dataclasses.replace(
        settings.dataset, mean=(0.5,) * 3, std=(0.2,) * 3))
    distilled = Distilled(settings, images=torch.zeros(1, 10, 3, 32, 32), labels=labels,
                          lrs=torch.ones(3), raw_lrs=torch.ones(3), iterations=1180,
                          data_source="official")
    classes = [f"class{i}" for i in range(10)]
    fig = image_grid(distilled, classes, "title")
    titles = [ax.get_title() for ax in fig.axes[:10]]
    assert titles == [f"class{i}" for i in labels[0].tolist()]
    shown = fig.axes[0].get_images()[0].get_array()
    assert abs(float(shown.mean()) - 0.5) < 1e-6  # zeros denormalise to the mean
    assert fig._suptitle.get_text() == "title (budget quick, 1,180 iterations)"


def test_extension_titles_name_what_a_variant_changes():
    from qdistill.report.extensions import extension_title
    reference = {"kind": "quantum", "residual": True, "observable": "hermitian"}
    assert extension_title(dict(reference, embedding="angle"), reference) == (
        "angle embedding (open question 2)")
    assert extension_title(dict(reference, observable="hermitian-pair"), reference) == (
        "two-qubit Hermitian observables (open question 3)")
    assert extension_title(dict(reference, frozen_circuit=False, embedding="amplitude"),
                           reference) == "same"
    assert extension_title(dict(reference, residual=False, front_end="quanvolution"),
                           reference) == "quanvolution front end (open question 1); residual=False"


def test_extensions_table_compares_with_the_reference_over_the_same_seeds(tmp_path):
    import pandas as pd

    from qdistill.report.extensions import extensions_frame, write_extensions
    counts = {"circuit_angles": 54, "observables": 24, "quanvolution": 0}
    runs = [{"dataset": "mnist", "model": m, "seed": s, "budget": "quick", "test_acc": acc,
             "quantum_parameters": counts, "executions_per_sample": 259, "s_per_iteration": 0.1}
            for m, s, acc in [("q-res-herm", 0, 80.0), ("q-res-herm", 1, 84.0),
                              ("q-res-herm-angle", 0, 60.0), ("q-res-herm-angle", 1, 70.0)]]
    variants = {"q-res-herm": {"kind": "quantum", "residual": True, "observable": "hermitian"},
                "q-res-herm-angle": {"kind": "quantum", "residual": True,
                                     "observable": "hermitian", "embedding": "angle"}}
    summary = pd.DataFrame([{"dataset": "mnist", "model": "classical", "n_runs": 2,
                             "own_acc_mean": 90.0, "other_acc_mean": 40.0,
                             "other_acc_std": 5.0, "budget": "quick"}])
    table = extensions_frame(runs, summary, ["mnist"], "q-res-herm", ["q-res-herm-angle"],
                             variants)
    assert table.model.tolist() == ["q-res-herm", "q-res-herm-angle", "classical"]
    assert table.delta.tolist()[1:] == [65.0 - 82.0, 40.0 - 90.0]
    assert table.acc_std[1] == pytest.approx(7.0710678)
    write_extensions(table, tmp_path / "e.csv", tmp_path / "e.md", tmp_path / "e.tex")
    assert "54 + 24 + 0" in (tmp_path / "e.md").read_text()
    assert "\\begin{tabular}" in (tmp_path / "e.tex").read_text()
    with pytest.raises(ValueError, match="no finished run for mnist / q-res-herm-pair"):
        extensions_frame(runs, None, ["mnist"], "q-res-herm", ["q-res-herm-pair"], variants)


def test_every_progress_panel_has_its_own_iteration_ticks():
    """Seven models fill 4 + 3 panels: the panel above the empty slot keeps its ticks."""
    import pandas as pd

    from qdistill.report.figures import progress_plot
    models = ["classical", "q-res-herm", "q-res-fixedherm", "q-res-pauliz", "q-nores-herm",
              "q-nores-fixedherm", "q-nores-pauliz"]
    history = pd.DataFrame([
        {"dataset": "mnist", "model": m, "seed": seed, "budget": "paper", "iterations": 200,
         "iteration": it, "test_acc": 50.0 + it / 10, "selection_acc": 40.0 + it / 20}
        for m in models for seed in (0, 1) for it in (0, 100, 200)])
    fig = progress_plot(history, "mnist", models)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 7
    fig.canvas.draw()
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels() if t.get_visible()], ax.get_title()
        # one line per seed
        assert {line.get_label() for line in ax.get_lines()} >= {"seed 0", "seed 1"}


def test_table_verdict_and_what_the_report_holds():
    import pandas as pd

    from qdistill.report.table1 import holdings, landing_rst, verdict
    S = pd.Series
    # each seed counts with the better of its final and best set
    assert verdict(93.8, S([88.28, 92.49, 92.80]), S([90.62, 93.15, 92.97])) == \
        "within the spread over seeds (+1.1 std)"
    assert verdict(91.9, S([52.7, 60.0, 55.0]), S([70.0, 89.0, 80.0])) == \
        "within the spread over seeds (+1.3 std)"
    assert verdict(91.9, S([52.7, 60.0, 55.0]), S([80.2, 78.0, 79.0])) == \
        "outside the spread: the paper is 11.7 std above our mean"
    # a seed that collapsed late widens the final sets' spread, not the verdict's
    assert verdict(91.9, S([73.18, 69.23, 19.29]), S([74.93, 82.85, 73.99])) == \
        "outside the spread: the paper is 3.0 std above our mean"
    assert verdict(91.9, S([52.7]), S([80.2])) == \
        "one seed, no spread yet: the paper is 11.7 points above its best set"
    assert verdict(90.1, S([77.69, 80.06]), S([85.96, 86.27])) == \
        "2 seeds, no spread yet: the paper is 3.8 points above their best set"
    assert verdict(91.9, S([], dtype=float), S([], dtype=float)) == "not run"
    assert verdict(float("nan"), S([50.0]), S([50.0])) == ""
    table = pd.DataFrame({
        "dataset": ["mnist", "mnist", "cifar10"], "model": ["classical", "q-res-herm", "classical"],
        "n_seeds": [3, 0, 0], "seeds": ["0 1 2", "", ""], "acc_mean": [91.2, None, None],
        "acc_std": [2.5, None, None], "paper_acc": [93.8, 91.9, 54.0],
        "best_acc_mean": [92.2, None, None], "best_acc_std": [1.4, None, None],
        "verdict": ["within", "not run", "not run"]})
    assert holdings(table) == ("3 runs. MNIST: classical (seeds 0, 1, 2). Not run: MNIST "
                               "q-res-herm, CIFAR-10 (every model).")
    page = landing_rst(table, "paper", None)
    assert "at budget **paper**" in page and "91.2 ± 2.5" in page and "not run" in page
    assert "<img" not in page


def test_run_records_join_each_evaluation_with_its_own_distill_log(tmp_path):
    """metrics.json keeps the log's summary; the history the figures and the stability table
    read comes from distill_log.json of the same run folder, never another's."""
    from qdistill.artifacts import run_records
    from qdistill.files import write_json

    folders = [tmp_path / "mnist" / "classical" / f"seed{seed}" for seed in (0, 1)]
    for seed, folder in enumerate(folders):
        write_json(folder / "metrics.json", {"seed": seed, "distill": {"iterations": 4}})
        write_json(folder / "distill_log.json",
                   {"iterations": 4, "history": [{"iteration": 4, "test_acc": 10.0 + seed}]})
    records = run_records([f / "metrics.json" for f in folders],
                          [f / "distill_log.json" for f in folders])
    assert [(r["seed"], r["distill"]["history"][0]["test_acc"]) for r in records] == [
        (0, 10.0), (1, 11.0)]
    with pytest.raises(ValueError, match="not of the same run"):
        run_records([f / "metrics.json" for f in folders],
                    [f / "distill_log.json" for f in reversed(folders)])
