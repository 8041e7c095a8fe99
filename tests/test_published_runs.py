"""Every run shipped in published/ is what it says it is: its distilled set, trained from its
initialisation and tested on the full test set now, gives exactly the accuracies of its
shipped metrics.json (final and best set), and it was made with the budget's settings on
the data whose md5 it records. Every run folder's provenance.json, carried runs (checkpoint.pt,
no distilled.pt) included, names the run its files hold."""

import json
import re
import time

import pytest
import torch

from qdistill.artifacts import (
    CHECKPOINT,
    DISTILL_LOG,
    DISTILLED,
    METRICS,
    load_checkpoint,
    load_distilled,
)
from qdistill.files import ArtifactError, read_json
from qdistill.config import load_config, run_settings
from qdistill.data import load_dataset
from qdistill.evaluate import evaluate
from qdistill.published import PROVENANCE, PUBLISHED_ROOT, run_folder, shipped_runs

BUDGETS = sorted(p.name for p in PUBLISHED_ROOT.iterdir() if p.is_dir()) \
    if PUBLISHED_ROOT.is_dir() else []
SHIPPED = [dict(run, budget=budget) for budget in BUDGETS
           for run in shipped_runs(PUBLISHED_ROOT, budget)]


def run_id(run):
    return f"{run['budget']}-{run['dataset']}-{run['model']}-seed{run['seed']}"


def check_segments(provenance, last):
    """Lane-made runs list their sittings: contiguous from iteration 0 to `last`."""
    spans = [tuple(s["iterations"]) for s in provenance.get("segments", [])]
    if spans:
        assert spans[0][0] == 0 and spans[-1][1] == last, spans
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), spans


def check_provenance(folder):
    """provenance.json names the run of its folder, and the run's own files (metrics.json and
    distill_log.json, or a carried checkpoint.pt) agree with it: dataset, model, seed,
    budget, iterations; a clean 40-hex source commit; a carried run stopped part way."""
    budget, dataset, model, seed = folder.relative_to(PUBLISHED_ROOT).parts
    where = {"dataset": dataset, "model": model, "seed": int(seed.removeprefix("seed")),
             "budget": budget}
    provenance = read_json(folder / PROVENANCE)
    assert {k: provenance[k] for k in where} == where
    assert provenance["command"].startswith("python -m qdistill distill")
    commit = provenance["source_commit"]
    assert isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40}", commit), commit
    if (folder / DISTILLED).exists():  # finished
        metrics, log = read_json(folder / METRICS), read_json(folder / DISTILL_LOG)
        assert {k: metrics[k] for k in where} == where
        assert metrics["distill"]["iterations"] == log["iterations"] == provenance["iterations"]
        assert "carried_at_iteration" not in provenance
        for key in ("data_md5", "source_commit"):  # older distill logs lack them
            if log.get(key) is not None:
                assert provenance[key] == log[key], key
        check_segments(provenance, provenance["iterations"])
    else:  # carried: the checkpoint is the run provenance names, stopped part way
        state = load_checkpoint(folder / CHECKPOINT)
        settings = state["identity"]["settings"]
        assert (settings["dataset"]["name"], settings["model"]["model_id"], settings["seed"],
                settings["budget"]) == (dataset, model, where["seed"], budget)
        assert provenance["iterations"] == state["identity"]["iterations"]
        assert provenance["carried_at_iteration"] == state["iteration"]
        assert 0 < provenance["carried_at_iteration"] < provenance["iterations"]
        check_segments(provenance, provenance["carried_at_iteration"])


@pytest.mark.parametrize("budget", sorted({"paper", *BUDGETS}))
def test_shipped_provenance_agrees_with_each_run(budget):
    """Every run folder of the budget, finished or carried (queue.txt and baselines/ are not
    runs). The paper budget has finished runs (`make paper-tables` builds Table I from them);
    another budget's folder is a campaign: its queue, and the runs it has shipped or carried."""
    folders = sorted(p.parent for p in (PUBLISHED_ROOT / budget).glob(f"*/*/seed*/{PROVENANCE}"))
    if budget == "paper":
        assert any((f / DISTILLED).exists() for f in folders), \
            f"no finished paper-budget run is shipped in {PUBLISHED_ROOT}"
    else:
        assert (PUBLISHED_ROOT / budget / "queue.txt").is_file(), \
            f"{PUBLISHED_ROOT / budget} is neither the paper budget nor a campaign (no queue.txt)"
    for folder in folders:
        for attempt in range(3):  # a paper lane may be replacing this folder's files right now
            try:
                check_provenance(folder)
                break
            except (AssertionError, ArtifactError) as err:
                if attempt == 2:
                    raise AssertionError(f"{folder}: {err!r}") from err
                time.sleep(2)


@pytest.fixture(scope="module")
def datasets(data_root, mirror):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = load_dataset(name, data_root, mirror)
        return cache[name]
    return get


@pytest.fixture
def one_thread():
    """Shipped metrics come from one-thread jobs; float32 sums may differ with more."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("run", SHIPPED, ids=run_id)
def test_shipped_run_reproduces_its_metrics(run, datasets, one_thread):
    folder = run_folder(PUBLISHED_ROOT, run["budget"], run["dataset"], run["model"],
                        run["seed"])
    distilled = load_distilled(folder / DISTILLED)
    shipped = read_json(folder / METRICS)
    data = datasets(run["dataset"])
    again = evaluate(distilled, data, "cpu", random_real_draws=0)
    assert again["test_acc"] == shipped["test_acc"]
    assert again["init_acc"] == shipped["init_acc"]
    assert again["best"] == shipped["best"]
    print(f"{run_id(run)}: final {again['test_acc']:.2f}% best "
          f"{(again['best'] or {}).get('test_acc')}% (both equal to metrics.json)")


@pytest.mark.parametrize("run", SHIPPED, ids=run_id)
def test_shipped_run_has_the_budget_settings_and_data(run, datasets):
    folder = run_folder(PUBLISHED_ROOT, run["budget"], run["dataset"], run["model"],
                        run["seed"])
    config = load_config(overrides={"budget": run["budget"]})
    expected = run_settings(config, run["dataset"], run["model"], run["seed"]).to_dict()
    settings = load_distilled(folder / DISTILLED).settings.to_dict()
    assert json.loads(json.dumps(settings)) == json.loads(json.dumps(expected))
    log, provenance = read_json(folder / DISTILL_LOG), read_json(folder / PROVENANCE)
    assert log["iterations"] == provenance["iterations"]
    assert provenance["data_md5"] == datasets(run["dataset"]).content_md5()
    assert provenance["command"].startswith("python -m qdistill distill")
    assert len(provenance["source_commit"]) >= 40 and "dirty" not in provenance["source_commit"]
    assert provenance["wall_time_s"] > 0 and provenance["cpu_time_s"] > 0


@pytest.mark.skipif("paper" not in BUDGETS, reason="no paper-budget run shipped")
def test_the_readme_table_rows_count_every_shipped_seed():
    """tools/published_table1.py (the README's Table I rows): one row per model, with as many
    seeds as are shipped, and every Table I model listed (not run where none is)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "published_table1", PUBLISHED_ROOT.parent / "tools" / "published_table1.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    lines = tool.rows(PUBLISHED_ROOT, "paper", "mnist")
    seeds = {line.split(" | ")[0].lstrip("| ").split(" (")[0]: int(line.split(" | ")[4])
             for line in lines[2:]}
    shipped = [r["model"] for r in SHIPPED if (r["budget"], r["dataset"]) == ("paper", "mnist")]
    assert set(load_config()["models"]) | set(shipped) <= set(seeds)
    assert seeds == {model: shipped.count(model) for model in seeds}
