"""Every run shipped in published/ is what it says it is: its distilled set, trained from its
initialisation and tested on the full test set now, gives exactly the accuracies of its
shipped metrics.json (final and best set), and it was made with the budget's settings on
the data whose md5 it records."""

import json

import pytest
import torch

from qdistill.artifacts import DISTILL_LOG, DISTILLED, METRICS, load_distilled, read_json
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


def test_paper_runs_are_shipped():
    assert any(run["budget"] == "paper" for run in SHIPPED), \
        f"no paper-budget run is shipped in {PUBLISHED_ROOT}"


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
