"""The paper campaign's lanes (tools/paper_lanes.py) at a smoke budget: a lane past its
deadline carries its run into published/, and the next lanes resume it to the bytes of an
uninterrupted run."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "paper_lanes.py"
RUN = ("mnist", "classical", 0)


def lanes(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), "--state", str(state), *args],
                          capture_output=True, text=True, timeout=120, check=True)


def wait_for_lanes(state: Path, timeout: float = 300) -> None:
    """Until every lane has ended (status says no lane is running)."""
    started = time.time()
    while time.time() - started < timeout:
        time.sleep(1)
        if "lane 1: done" in lanes(state, "status").stdout:
            return
        if "lane 1: dead" in lanes(state, "status").stdout:
            break
    raise AssertionError(f"the lane did not finish: {(state / 'lane1.log').read_text()}")


@pytest.fixture
def campaign(tmp_path, mirror):
    """A config whose smoke run is long enough to be stopped in (118 iterations), a queue of
    one run, and an empty published/."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["budgets"]["smoke"].update(epochs=0.5, log_every=10, checkpoint_every=50)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "queue.txt").write_text("# one run\n" + " ".join(map(str, RUN)) + "\n")
    return tmp_path


def start(campaign: Path, state: str, hours: float, mirror: Path) -> Path:
    lanes(campaign / state, "start", "--hours", str(hours), "--lanes", "1", "--budget", "smoke",
          "--queue", str(campaign / "queue.txt"), "--published", str(campaign / "published"),
          "--config", str(campaign / "config.yaml"), "--data-mirror", str(mirror),
          "--code", str(REPO), "--min-start", "0")
    wait_for_lanes(campaign / state)
    return campaign / state


@pytest.mark.slow
def test_a_lane_past_its_deadline_carries_its_run_and_the_next_resumes_it_to_the_same_bytes(
        campaign, mirror):
    shipped = campaign / "published" / "smoke" / "mnist" / "classical" / "seed0"
    # A deadline of 3 seconds: the lane stops its run as soon as it distills.
    start(campaign, "first", 3 / 3600, mirror)
    provenance = json.loads((shipped / "provenance.json").read_text())
    assert (shipped / "checkpoint.pt").is_file() and not (shipped / "distilled.pt").exists()
    assert 1 <= provenance["carried_at_iteration"] < provenance["iterations"] == 118
    assert lanes(campaign / "first", "stop").stdout.startswith("  carried: mnist classical")

    start(campaign, "second", 1.0, mirror)
    assert not (shipped / "checkpoint.pt").exists()
    assert json.loads((shipped / "metrics.json").read_text())["test_acc"] > 0
    segments = json.loads((shipped / "provenance.json").read_text())["segments"]
    assert [s["iterations"] for s in segments] == [
        [0, provenance["carried_at_iteration"]], [provenance["carried_at_iteration"], 118]]

    reference = campaign / "reference"
    subprocess.run([sys.executable, "-m", "qdistill", "distill", "--config",
                    str(campaign / "config.yaml"), "--dataset", "mnist", "--model", "classical",
                    "--seed", "0", "--budget", "smoke", "--out", str(reference),
                    "--data-mirror", str(mirror), "--data-root", str(campaign / "data"),
                    "--threads", "1", "--no-progress"], check=True, capture_output=True,
                   timeout=300)
    assert (shipped / "distilled.pt").read_bytes() == (reference / "distilled.pt").read_bytes()

    # Nothing is left to do: a third start finds the queue shipped and ends at once.
    third = start(campaign, "third", 1.0, mirror)
    assert not (third / "outcomes.jsonl").exists()


def test_a_bad_queue_line_is_refused_before_any_lane_starts(tmp_path):
    (tmp_path / "queue.txt").write_text("mnist classical\n")
    result = subprocess.run([sys.executable, str(TOOL), "--state", str(tmp_path / "state"),
                             "start", "--queue", str(tmp_path / "queue.txt"), "--code", str(REPO)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "queue.txt:1: expected 'dataset model seed'" in result.stderr
    assert not (tmp_path / "state" / "plan.json").exists()


@pytest.mark.parametrize("queue", sorted((REPO / "published").glob("*/queue.txt")),
                         ids=lambda path: path.parent.name)
def test_each_repository_queue_names_its_budgets_runs_once_each(queue):
    sys.path.insert(0, str(REPO / "tools"))
    from paper_lanes import check_queue, parse_queue

    runs = parse_queue(queue)
    assert runs and len(runs) == len(set(runs))
    check_queue(queue, queue.parent.name, None)  # exits on a run the budget does not have
    if queue.parent.name == "paper":
        assert runs[0] == ("mnist", "q-res-herm-frozen", 0)  # the first question


def test_a_run_the_budget_lacks_is_refused_before_any_lane_starts(tmp_path):
    (tmp_path / "queue.txt").write_text("mnist q-res-herm 0\nmnist q-res-herm 7\n")
    result = subprocess.run([sys.executable, str(TOOL), "--state", str(tmp_path / "state"),
                             "start", "--queue", str(tmp_path / "queue.txt"), "--budget",
                             "paper-clip", "--code", str(REPO)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "run 'mnist q-res-herm 7' is not one of budget paper-clip's" in result.stderr
    assert not (tmp_path / "state" / "plan.json").exists()
    unknown = subprocess.run([sys.executable, str(TOOL), "--state", str(tmp_path / "state"),
                              "start", "--budget", "paper-clips", "--code", str(REPO)],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode != 0 and "unknown budget 'paper-clips'" in unknown.stderr


def test_deadline_moves_the_running_lanes_deadline_and_refuses_when_none_runs(tmp_path):
    """A lane re-reads the plan's deadline at every poll, so moving it in plan.json is what
    reaches a running lane; this process stands in for the running lane."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "plan.json").write_text(json.dumps({"lanes": 1, "deadline": time.time() + 60}))
    (state / "lane1.json").write_text(json.dumps({"lane": 1, "pid": 0}))
    refused = subprocess.run([sys.executable, str(TOOL), "--state", str(state), "deadline",
                              "--hours", "2"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "no lane is running" in refused.stderr
    (state / "lane1.json").write_text(json.dumps({"lane": 1, "pid": os.getpid()}))
    before = time.time()
    lanes(state, "deadline", "--hours", "2")
    deadline = json.loads((state / "plan.json").read_text())["deadline"]
    assert before + 7200 <= deadline <= time.time() + 7200


def test_status_shows_the_last_test_accuracy_and_names_an_outer_loss_spike(tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    from paper_lanes import progress

    line = ("2026-12-06 15:{:02d}:00,000 INFO qdistill.distill: iter {}/23600 outer loss {} "
            "test {}% selection 80.00% lrs 0.2 0.1 0.3")
    points = [(0, 200, 0.61, 71.2), (1, 400, 9.2e9, 12.5), (2, 600, 2.31, 8.9)]
    (tmp_path / "distill.log").write_text("\n".join(line.format(*p) for p in points[:1]) + "\n")
    healthy = progress(tmp_path, deadline=time.time(), since=0)
    assert healthy == ", iteration 200/23600, test 71.2%"
    (tmp_path / "distill.log").write_text("\n".join(line.format(*p) for p in points) + "\n")
    spiked = progress(tmp_path, deadline=time.time(), since=0)
    assert spiked.startswith(", iteration 600/23600, test 8.9% (outer loss spiked to 9.2e+09 "
                             "at iteration 400")
    assert "0.300 s/it" in spiked  # 60 s over the last 200 iterations


def test_a_lane_stops_after_two_runs_in_a_row_fail(tmp_path):
    """Runs that all fail in seconds (here: no dataset mirror) leave the queue's rest alone."""
    (tmp_path / "queue.txt").write_text("mnist classical 0\nmnist q-res-herm 0\n"
                                        "mnist q-res-pauliz 0\n")
    state = tmp_path / "state"
    lanes(state, "start", "--hours", "1", "--lanes", "1", "--budget", "smoke", "--queue",
          str(tmp_path / "queue.txt"), "--published", str(tmp_path / "published"),
          "--data-mirror", str(tmp_path / "no-mirror"), "--code", str(REPO), "--min-start", "0")
    started = time.time()
    while "lane 1: done" not in lanes(state, "status").stdout:
        assert time.time() - started < 120, (state / "lane1.log").read_text()
        time.sleep(1)
    outcomes = [json.loads(line) for line in (state / "outcomes.jsonl").read_text().splitlines()]
    assert [(o["model"], o["outcome"]) for o in outcomes] == [
        ("classical", "distill failed"), ("q-res-herm", "distill failed")]
    assert "2 runs in a row failed" in (state / "lane1.log").read_text()
    assert not (tmp_path / "published").exists()
