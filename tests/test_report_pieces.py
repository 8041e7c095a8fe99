"""Tables and figures: the report env has no PennyLane, and grids are labelled right."""

import dataclasses

import pytest
import torch
from workflow_helpers import fresh_python

from qdistill.artifacts import Distilled
from qdistill.config import load_config, run_settings
from qdistill.figures import image_grid


def test_report_modules_import_without_pennylane():
    code = ("import sys; sys.modules['pennylane'] = None\n"
            "import qdistill.tables, qdistill.figures, qdistill.artifacts, qdistill.logs\n"
            "import qdistill.transfer_report\n"
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
    from qdistill.tables import extension_title
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

    from qdistill.tables import extensions_frame, write_extensions
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
