"""Tables and figures: the report env has no PennyLane, and grids are labelled right."""

import subprocess
import sys

import torch

from qdistill.figures import image_grid


def test_report_modules_import_without_pennylane():
    code = ("import sys; sys.modules['pennylane'] = None\n"
            "import qdistill.tables, qdistill.figures, qdistill.artifacts, qdistill.logs\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_image_grid_labels_each_column_by_its_class():
    labels = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3]])
    distilled = {"images": torch.zeros(1, 10, 3, 32, 32), "labels": labels,
                 "settings": {"dataset": {"mean": [0.5] * 3, "std": [0.2] * 3}}}
    classes = [f"class{i}" for i in range(10)]
    fig = image_grid(distilled, classes, "title")
    titles = [ax.get_title() for ax in fig.axes[:10]]
    assert titles == [f"class{i}" for i in labels[0].tolist()]
    shown = fig.axes[0].get_images()[0].get_array()
    assert abs(float(shown.mean()) - 0.5) < 1e-6  # zeros denormalise to the mean
