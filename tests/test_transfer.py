"""Transfer across initialisations (src/qdistill/transfer.py): the other init seeds, the
own init reproducing evaluate(), other inits really starting elsewhere, and the table and
figure builders on hand-made results."""

import json

import pandas as pd
import pytest
import torch
from workflow_helpers import fresh_python

import qdistill.evaluate
from qdistill.artifacts import load_distilled
from qdistill.config import run_settings
from qdistill.data import ImageData
from qdistill.evaluate import evaluate
from qdistill.runs import distill_run, transfer_run
from qdistill.transfer import evaluate_transfer, transfer_other_inits
from qdistill.report.transfer import (
    FRAME_COLUMNS,
    SUMMARY_COLUMNS,
    transfer_figure,
    transfer_frame,
    transfer_summary,
    write_transfer_tables,
)


@pytest.mark.parametrize("seed, expected", [
    (0, [1000, 1001, 1002]),
    (1000, [1001, 1002, 1003]),
    (1001, [1000, 1002, 1003]),
    (1002, [1000, 1001, 1003]),
    (1003, [1000, 1001, 1002]),
])
def test_other_inits_skip_the_runs_own_seed_and_keep_the_count(seed, expected):
    assert transfer_other_inits(seed, 1000, 3) == expected
    assert transfer_other_inits(seed, 1000, 0) == []


@pytest.fixture(scope="module")
def distilled_sets(tmp_path_factory, mirror, data_root):
    """distilled.pt of smoke runs on MNIST (seed 0): classical, quantum, and quantum with the
    circuit angles frozen (constants, not trained: transfer must split theta0 as evaluate)."""
    from qdistill.config import load_config

    config = load_config(overrides={"budget": "smoke", "data_mirror": str(mirror),
                                    "data_root": str(data_root)})
    paths = {}
    for model in ("classical", "q-res-herm", "q-res-herm-frozen"):
        out = tmp_path_factory.mktemp(model)
        paths[model] = distill_run(run_settings(config, "mnist", model, 0), out, data_root,
                                   mirror, progress=False)
    return paths


@pytest.fixture(scope="module")
def mnist_2000(mnist):
    """MNIST with the first 2000 test images: every accuracy here is 5x cheaper."""
    return ImageData(mnist.train_images, mnist.train_labels, mnist.test_images[:2000],
                     mnist.test_labels[:2000], mnist.classes, mnist.source)


@pytest.mark.parametrize("model", ["classical", "q-res-herm", "q-res-herm-frozen"])
def test_own_init_reproduces_evaluate(distilled_sets, mnist_2000, model):
    distilled = load_distilled(distilled_sets[model])
    metrics = evaluate(distilled, mnist_2000, "cpu", random_real_draws=0)
    result = evaluate_transfer(distilled, mnist_2000, [1000], "cpu")
    own = result["results"][0]
    assert own["own"] and own["init_seed"] == 0
    assert own["test_acc"] == metrics["test_acc"] == result["own_init_acc"]
    assert own["init_acc"] == metrics["init_acc"]
    assert (result["dataset"], result["model"], result["seed"]) == ("mnist", model, 0)
    assert result["n_test_images"] == 2000


def test_other_inits_start_from_their_own_theta0(distilled_sets, mnist_2000, monkeypatch):
    """Every init seed builds its own network, and their theta0 differ in every tensor."""
    built = []
    real_make_network = qdistill.evaluate.make_network

    def recording_make_network(model, dataset, seed, *args):
        net = real_make_network(model, dataset, seed, *args)
        built.append((seed, {k: v.detach().clone() for k, v in net.state_dict().items()}))
        return net

    # where evaluate.network looks it up
    monkeypatch.setattr(qdistill.evaluate, "make_network", recording_make_network)
    result = evaluate_transfer(load_distilled(distilled_sets["q-res-herm"]), mnist_2000,
                               [1000, 1001], "cpu")
    assert [seed for seed, _ in built] == [0, 1000, 1001]
    assert [(r["init_seed"], r["own"]) for r in result["results"]] == [
        (0, True), (1000, False), (1001, False)]
    # random by construction: weights, circuit angles, observables (biases start at 0, alpha
    # at 0.5 whatever the seed)
    random = [name for name in built[0][1] if name.endswith(("weight", "angles", "raw"))]
    assert len(random) == 9
    for (_, a), (_, b) in [(built[0], built[1]), (built[0], built[2]), (built[1], built[2])]:
        assert not any(torch.equal(a[name], b[name]) for name in random)
    # different starting points: the untrained networks do not all agree on the test set
    assert len({r["init_acc"] for r in result["results"]}) > 1
    assert all(0 <= r[key] <= 100 for r in result["results"]
               for key in ("test_acc", "random_real_acc", "init_acc"))


def test_own_seed_among_other_inits_is_refused(distilled_sets, mnist_2000):
    with pytest.raises(ValueError, match="own seed 0"):
        evaluate_transfer(load_distilled(distilled_sets["classical"]), mnist_2000, [1000, 0],
                          "cpu")


def test_transfer_run_writes_json_and_replaces_stale_output(tmp_path, mirror, data_root,
                                                            smoke_config):
    """A run whose seed is among the first init seeds: the JSON lists `count` others
    without it, and no stale file survives."""
    settings = run_settings(smoke_config, "mnist", "classical", 1001)
    path = distill_run(settings, tmp_path / "run", data_root, mirror, progress=False)
    out = tmp_path / "run" / "transfer.json"
    out.write_text("stale")
    transfer_run(path, out, data_root, mirror, "cpu", first_seed=1000, count=2)
    result = json.loads(out.read_text())
    assert set(result) == {"dataset", "model", "seed", "budget", "qnn_backend",
                           "freeze_circuit", "data_source", "n_test_images", "own_init_acc",
                           "results", "wall_time_s"}
    assert [r["init_seed"] for r in result["results"]] == [1001, 1000, 1002]
    assert [r["own"] for r in result["results"]] == [True, False, False]
    assert set(result["results"][0]) == {"init_seed", "own", "test_acc", "random_real_acc",
                                         "init_acc"}


def hand_made_results():
    """Two classical runs (own 90/80, others 60, 70 / 50, 40) and one quantum run."""
    def run(model, seed, points):
        return {"dataset": "mnist", "model": model, "seed": seed, "budget": "smoke",
                "results": [{"init_seed": s, "own": s == seed, "test_acc": acc,
                             "random_real_acc": rr, "init_acc": 10.0}
                            for s, acc, rr in points]}
    return [run("classical", 0, [(0, 90.0, 30.0), (1000, 60.0, 20.0), (1001, 70.0, 40.0)]),
            run("classical", 1, [(1, 80.0, 30.0), (1000, 50.0, 10.0), (1001, 40.0, 50.0)]),
            run("q-res-herm", 0, [(0, 50.0, 20.0), (1000, 45.0, 25.0), (1001, 35.0, 15.0)])]


def test_frame_and_summary_arithmetic():
    frame = transfer_frame(hand_made_results())
    assert list(frame.columns) == FRAME_COLUMNS and len(frame) == 9
    assert frame.own.tolist() == [True, False, False] * 3
    summary = transfer_summary(frame).set_index("model")
    assert list(transfer_summary(frame).columns) == SUMMARY_COLUMNS
    classical = summary.loc["classical"]
    assert classical.n_runs == 2 and classical.n_other_inits == 2
    assert classical.own_acc_mean == pytest.approx(85.0)
    assert classical.other_acc_mean == pytest.approx(55.0)
    assert classical["drop"] == pytest.approx(30.0)
    assert classical.other_acc_std == pytest.approx(pd.Series([60, 70, 50, 40]).std(ddof=1))
    assert classical.other_random_real_mean == pytest.approx(30.0)
    quantum = summary.loc["q-res-herm"]
    assert quantum.n_runs == 1 and quantum["drop"] == pytest.approx(50.0 - 40.0)
    assert transfer_summary(frame).model.tolist() == ["classical", "q-res-herm"]


def test_table_writers_and_figure(tmp_path):
    frame = transfer_frame(hand_made_results())
    summary = transfer_summary(frame)
    csv, md, tex = tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.tex"
    write_transfer_tables(frame, summary, csv, md, tex)
    written = pd.read_csv(csv)
    assert list(written.columns) == FRAME_COLUMNS and len(written) == 9
    assert written.test_acc.tolist() == frame.test_acc.tolist()
    text = " ".join(md.read_text().split())  # without the column padding
    assert "| MNIST | classical | fixed | 2 | 85.0 |" in text and "55.0 ± 12.9" in text and "+30.0" in text
    assert "drop = own - other" in text
    latex = tex.read_text()
    assert r"\begin{tabular}" in latex and r"$\pm$" in latex and "tab:transfer" in latex
    pdf = transfer_figure(frame, "mnist", tmp_path / "transfer_mnist.png")
    assert pdf == tmp_path / "transfer_mnist.pdf"
    assert (tmp_path / "transfer_mnist.png").read_bytes()[:4] == b"\x89PNG"
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_tables_and_figure_need_no_pennylane(tmp_path):
    """The transfer_table rule runs in the report env, which has no PennyLane."""
    code = ("import sys; sys.modules['pennylane'] = None\n"
            "from qdistill.report import transfer\n"
            f"results = {hand_made_results()!r}\n"
            "frame = transfer.transfer_frame(results)\n"
            f"d = {str(tmp_path)!r}\n"
            "transfer.write_transfer_tables(frame, transfer.transfer_summary(frame),\n"
            "    d + '/t.csv', d + '/t.md', d + '/t.tex')\n"
            "transfer.transfer_figure(frame, 'mnist', d + '/f.png')\n"
            "print('ok')")
    assert fresh_python(code) == "ok"
