"""Shipped runs (published/): shipping, carrying an unfinished run over and resuming it, and
the workflow building Table I from shipped runs without distilling."""

import hashlib
import json

import pandas as pd
import pytest
import torch
from workflow_helpers import copy_workflow, snakemake

from qdistill.artifacts import CHECKPOINT, DISTILL_LOG, DISTILLED, METRICS
from qdistill.files import ArtifactError, read_json, write_json
from qdistill.config import DistillOptions, load_config, run_settings
from qdistill.distill import Checkpointing, RunInterrupted, distill
from qdistill.published import (
    PROVENANCE,
    carry,
    missing_cells,
    publish,
    resume_carried,
    run_folder,
    shipped_runs,
)
from qdistill.runs import distill_run, evaluate_run


# the smoke budget's log, on fewer images: a log point every 4 iterations
SMALL_LOG = DistillOptions(log_every=4, log_test_images=200, selection_images=200)


def smoke_run(config, mnist_root, mirror, out, model="classical", seed=0, evaluate=True):
    settings = run_settings(dict(config, device="cpu"), "mnist", model, seed)
    distill_run(settings, out, mnist_root, mirror, SMALL_LOG, progress=False)
    if evaluate:
        budget = config["budgets"][config["budget"]]  # as the workflow's evaluate rule
        evaluate_run(out / DISTILLED, out / METRICS, mnist_root, mirror, "cpu",
                     random_real_draws=budget["random_real_draws"],
                     test_images=budget["eval_test_images"], distill_log=out / DISTILL_LOG)
    return settings


def test_publish_ships_the_outputs_with_their_provenance(smoke_config, data_root, mirror,
                                                         tmp_path):
    run = tmp_path / "run"
    smoke_run(smoke_config, data_root, mirror, run)
    root = tmp_path / "published"
    dest = publish(run, root, "abc123", {"command": "the command", "cpu_time_s": 1.5})
    assert dest == run_folder(root, "smoke", "mnist", "classical", 0)
    for name in (DISTILLED, DISTILL_LOG, METRICS):
        assert (dest / name).read_bytes() == (run / name).read_bytes()
    record = read_json(dest / PROVENANCE)
    log = read_json(run / DISTILL_LOG)
    assert record["command"] == "the command" and record["cpu_time_s"] == 1.5
    assert record["data_md5"] == "abc123"
    assert record["wall_time_s"] == log["wall_time_s"] and record["iterations"] == 12
    assert record["source_commit"] == log["source_commit"]
    assert shipped_runs(root, "smoke") == [{"dataset": "mnist", "model": "classical", "seed": 0}]
    assert missing_cells(shipped_runs(root, "smoke"), ["mnist"], ["classical", "q-res-herm"],
                         [0, 1]) == [{"dataset": "mnist", "model": "classical", "seed": 1},
                                     {"dataset": "mnist", "model": "q-res-herm", "seed": 0},
                                     {"dataset": "mnist", "model": "q-res-herm", "seed": 1}]


def test_an_unevaluated_run_is_not_shipped(smoke_config, data_root, mirror, tmp_path):
    run = tmp_path / "run"
    smoke_run(smoke_config, data_root, mirror, run, evaluate=False)
    with pytest.raises(ArtifactError, match="evaluate it first"):
        publish(run, tmp_path / "published", None)
    assert not (tmp_path / "published").exists()


def test_metrics_of_another_set_are_not_shipped(smoke_config, data_root, mirror, tmp_path):
    """metrics.json names the distilled.pt it evaluated by its SHA-256; metrics of another
    set are refused until this one is evaluated."""
    run = tmp_path / "run"
    smoke_run(smoke_config, data_root, mirror, run)
    metrics = read_json(run / METRICS)
    assert "settings" not in metrics  # the settings live once, in distilled.pt
    assert metrics["distilled_sha256"] == hashlib.sha256((run / DISTILLED).read_bytes()).hexdigest()
    write_json(run / METRICS, dict(metrics, distilled_sha256=hashlib.sha256(b"other").hexdigest()))
    with pytest.raises(ArtifactError, match="belongs to another distilled set; evaluate"):
        publish(run, tmp_path / "published", None)
    assert not (tmp_path / "published").exists()


def test_a_carried_run_resumes_to_the_same_bytes(smoke_config, mnist, data_root, mirror,
                                                 tmp_path):
    """An unfinished run is carried over as its checkpoint and finished elsewhere: the
    result is the uninterrupted run's, to the byte; shipping it removes the checkpoint."""
    whole = tmp_path / "whole"
    settings = smoke_run(smoke_config, data_root, mirror, whole, evaluate=False)
    stopped = tmp_path / "stopped"
    with pytest.raises(RunInterrupted):
        distill(settings, mnist, log_every=4, progress=False, log_test_images=200,
                selection_images=200,
                checkpointing=Checkpointing(stopped / CHECKPOINT, 0, stop_reason="test"))
    root = tmp_path / "published"
    dest = carry(stopped, root, {"command": "the command"})
    assert read_json(dest / PROVENANCE)["carried_at_iteration"] == 1
    resumed = tmp_path / "resumed"
    assert resume_carried(root, "smoke", "mnist", "classical", 0, resumed)
    assert not resume_carried(root, "smoke", "mnist", "classical", 1, tmp_path / "other")
    distill_run(settings, resumed, data_root, mirror, SMALL_LOG, progress=False)
    assert (resumed / DISTILLED).read_bytes() == (whole / DISTILLED).read_bytes()
    evaluate_run(resumed / DISTILLED, resumed / METRICS, data_root, mirror, "cpu",
                 random_real_draws=1, distill_log=resumed / DISTILL_LOG)
    publish(resumed, root, None)
    assert not (dest / CHECKPOINT).exists() and (dest / DISTILLED).exists()
    with pytest.raises(ArtifactError, match="already holds the finished run"):
        carry(stopped, root)


@pytest.fixture(scope="module")
def shipped_workflow(tmp_path_factory, data_root, mirror):
    """A workflow copy with three MNIST smoke runs shipped (classical, q-res-herm and the
    frozen-circuit q-res-herm-frozen, seeds 0 and 1 with seed 1 missing) and one shipped
    ceiling."""
    workdir = copy_workflow(tmp_path_factory.mktemp("shipped"))
    smoke_config = load_config(overrides={"budget": "smoke", "data_mirror": str(mirror),
                                          "data_root": str(data_root)})
    config = dict(smoke_config, budgets={**smoke_config["budgets"], "smoke": dict(
        smoke_config["budgets"]["smoke"], seeds=[0, 1])})
    runs = tmp_path_factory.mktemp("runs")
    for model in ("classical", "q-res-herm", "q-res-herm-frozen"):
        smoke_run(config, data_root, mirror, runs / model, model=model)
        publish(runs / model, workdir / "published", None)
    ceiling = workdir / "published/smoke/baselines/mnist/seed0.json"
    ceiling.parent.mkdir(parents=True)
    ceiling.write_text(json.dumps({"dataset": "mnist", "model": "classical", "seed": 0,
                                   "budget": "smoke", "test_acc": 50.0, "epochs": 0.02,
                                   "train_images": 60000, "data_source": "official"}))
    extra = workdir / "shipped.yaml"
    extra.write_text(json.dumps({"budgets": config["budgets"],
                                 "models": ["classical", "q-res-herm", "q-res-pauliz"]}))
    args = ["--configfile", str(extra), "--config", "budget=smoke", "shipped_runs=True",
            "results=results/shipped", f"data_mirror={mirror}", f"data_root={data_root}"]
    return workdir, args


def test_shipped_runs_are_evaluated_and_tabled_never_distilled(shipped_workflow):
    workdir, args = shipped_workflow
    plan = snakemake(workdir, "-n", *args).stdout
    assert "rule distill:" not in plan and "rule baseline:" not in plan
    assert "rule shots:" not in plan
    assert plan.count("rule shipped_run:") == 3 and plan.count("rule evaluate:") == 3
    # the shipped sets of extensions.transfer_models, from unseen initialisations
    assert plan.count("rule transfer:") == 2
    snakemake(workdir, "--cores", "2", *args, timeout=600)
    results = workdir / "results/shipped"
    for model in ("classical", "q-res-herm"):  # evaluated again: the shipped numbers
        shipped = read_json(workdir / f"published/smoke/mnist/{model}/seed0/{METRICS}")
        again = read_json(results / f"runs/mnist/{model}/seed0/{METRICS}")
        # average and k-means sets: made in-process there, by rule summary_sets here
        for key in ("test_acc", "random_real_accs", "init_acc", "best", "distilled_sha256",
                    "average_real_acc", "kmeans_real_acc"):
            assert again[key] == shipped[key], (model, key)
    table = pd.read_csv(results / "tables/table1.csv", dtype={"missing_seeds": str})
    cifar = table[table.dataset == "cifar10"]  # nothing shipped: every cell listed as not run
    assert list(cifar.model) == ["classical", "q-res-herm", "q-res-herm-frozen", "q-res-pauliz"]
    assert (cifar.n_seeds == 0).all() and list(cifar.missing_seeds) == ["0 1"] * 4
    table = table[table.dataset == "mnist"].set_index("model")
    # the frozen circuit (the authors' code's behaviour) beside the model it freezes, against
    # the paper's number for that model
    assert list(table.index) == ["classical", "q-res-herm", "q-res-herm-frozen", "q-res-pauliz"]
    assert list(table.n_seeds) == [1, 1, 1, 0]
    assert list(table.missing_seeds.fillna("")) == ["1", "1", "1", "0 1"]
    assert table.paper_acc["q-res-herm-frozen"] == table.paper_acc["q-res-herm"] == 91.9
    md = (results / "tables/table1.md").read_text()
    assert "MNIST q-res-herm-frozen: the paper's q-res-herm value" in md
    assert "not run" in md and "Not run: MNIST classical seed(s) 1;" in md
    assert "CIFAR-10 classical seed(s) 0 1" in md
    assert "MNIST 50.0% (1 seed(s)" in md
    for name in ("accuracy_mnist", "progress_mnist", "distilled_mnist_q-res-herm"):
        assert (results / f"figures/{name}.png").stat().st_size > 5_000
    assert not (results / "figures/distilled_mnist_q-res-pauliz.png").exists()
    transfer = pd.read_csv(results / "tables/transfer.csv")
    assert sorted(set(zip(transfer.model, transfer.seed))) == [("classical", 0),
                                                               ("q-res-herm", 0)]
    # the report opens on Table I, saying what it holds
    landing = (results / "report_landing.rst").read_text()
    assert "This report holds 3 runs. MNIST: classical (seed 0); q-res-herm (seed 0); " \
        "q-res-herm-frozen (seed 0). Not run: MNIST q-res-pauliz, CIFAR-10 (every model)." \
        in landing
    assert "<table" in landing and "data:image/png;base64," in landing
    report = snakemake(workdir, "--report", "results/shipped/report.html", *args)
    assert report.returncode == 0
    page = (results / "report.html").read_text()
    assert "This report holds 3 runs" in page
    again = snakemake(workdir, "-n", *args)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_damaged_shipped_run_is_named_with_the_ways_on(shipped_workflow):
    workdir, args = shipped_workflow
    shipped = workdir / "published/smoke/mnist/q-res-herm/seed0"
    good = (shipped / DISTILLED).read_bytes()
    (shipped / DISTILLED).write_bytes(good[:500])
    try:
        proc = snakemake(workdir, "-n", *args, check=False)
    finally:
        (shipped / DISTILLED).write_bytes(good)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert (f"shipped run {shipped} is damaged ({shipped / DISTILLED} is truncated or corrupt"
            in " ".join(out.split()))
    assert f"git checkout -- {shipped}" in " ".join(out.split())


def test_shipped_runs_need_at_least_one_run(shipped_workflow):
    workdir, args = shipped_workflow
    args = [a if a != "budget=smoke" else "budget=quick" for a in args]
    proc = snakemake(workdir, "-n", *args, check=False)
    assert proc.returncode != 0
    assert "no run of" in proc.stdout + proc.stderr and "published/quick" in proc.stdout + proc.stderr


def test_distilled_set_keeps_no_test_set_choice(shipped_workflow):
    """The kept best set is the log point with the highest selection accuracy, in the
    shipped distill log too (never chosen by test accuracy)."""
    workdir, _ = shipped_workflow
    log = read_json(workdir / f"published/smoke/mnist/q-res-herm/seed0/{DISTILL_LOG}")
    accs = [h["selection_acc"] for h in log["history"]]
    best = log["history"][accs.index(max(accs))]
    assert log["best_iteration"] == best["iteration"]
    payload = torch.load(workdir / f"published/smoke/mnist/q-res-herm/seed0/{DISTILLED}",
                         weights_only=True)
    assert payload["best"]["iteration"] == best["iteration"]
