"""The estimate every workflow run prints before it starts (qdistill.estimate), and the
measured job times it reads (bench/job_seconds.py, bench/job_seconds.json)."""

import importlib.util
from pathlib import Path

from qdistill.estimate import PlannedJob, estimate_message, expected_seconds, load_job_seconds

REPO = Path(__file__).resolve().parents[1]
PER_ITERATION = {"mnist": 0.17, "cifar10": 0.65}
MEASURED = {"measured_on": "a test CPU", "budgets": {"quick": {
    "distill": 100.0, "distill/mnist": 60.0, "distill/mnist/q-res-herm-quanv": 90.0,
    "evaluate/mnist": 20.0, "table": 5.0}}}


def test_the_most_specific_measurement_wins_and_other_budgets_fall_back_to_iterations():
    quanv = PlannedJob("distill", "mnist", "q-res-herm-quanv", iterations=295)
    herm = PlannedJob("distill", "mnist", "q-res-herm", iterations=295)
    cifar = PlannedJob("distill", "cifar10", "classical", iterations=245)
    assert expected_seconds(quanv, MEASURED, "quick", PER_ITERATION) == 90.0
    assert expected_seconds(herm, MEASURED, "quick", PER_ITERATION) == 60.0
    # another dataset's time is never taken: CIFAR-10 falls back to its iterations
    assert expected_seconds(cifar, MEASURED, "quick", PER_ITERATION) == 245 * 0.65
    assert expected_seconds(herm, MEASURED, "paper", PER_ITERATION) == 295 * 0.17
    assert expected_seconds(PlannedJob("evaluate", "mnist"), MEASURED, "paper",
                            PER_ITERATION) is None


def test_the_message_spreads_jobs_over_the_cores_and_names_what_is_not_measured():
    jobs = [PlannedJob("distill", "mnist", f"m{i}", iterations=295) for i in range(4)]
    jobs += [PlannedJob("table"), PlannedJob("shots", "mnist", "q-res-herm")]
    message = estimate_message(jobs, 2, "quick", PER_ITERATION, MEASURED)
    # (4 x 60 + 5) / 2 = 122.5 s
    assert message.startswith("Expected: 6 jobs (distill 4, table 1, shots 1), about 3 min "
                              "on 2 cores, plus the shots jobs, not measured at budget quick")
    assert "a test CPU" in message
    # one long job bounds the run from below, however many cores
    long = [PlannedJob("distill", "cifar10", "x", iterations=19600)]
    assert "about 3.5 h on 64 cores" in estimate_message(long, 64, "paper", PER_ITERATION,
                                                         MEASURED)
    assert estimate_message([], 2, "quick", PER_ITERATION, MEASURED) == \
        "Expected: nothing to run."
    assert estimate_message([PlannedJob("shots")], 2, "quick", PER_ITERATION, MEASURED) == \
        "Expected: 1 job (shots 1); no job time is measured at budget quick."


def test_job_seconds_reads_a_runs_benchmarks_into_medians_by_rule_dataset_and_model(tmp_path):
    spec = importlib.util.spec_from_file_location("job_seconds", REPO / "bench/job_seconds.py")
    job_seconds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job_seconds)
    header = "s\th:m:s\tmax_rss\tcpu_time\n"
    for model, seconds in [("classical", 10), ("q-res-herm", 30), ("q-res-pauliz", 20)]:
        f = tmp_path / "benchmarks/distill/mnist" / model / "seed0.tsv"
        f.parent.mkdir(parents=True)
        f.write_text(header + f"{seconds}\t0:00:{seconds}\t1\t1\n")
    (tmp_path / "benchmarks/table.tsv").write_text(header + "4.5\t0:00:04\t1\t1\n")
    medians = job_seconds.medians(tmp_path, None)
    assert medians == {"distill": 20.0, "distill/mnist": 20.0, "distill/mnist/classical": 10.0,
                       "distill/mnist/q-res-herm": 30.0, "distill/mnist/q-res-pauliz": 20.0,
                       "table": 4.5}


def test_the_shipped_measurements_cover_the_first_run():
    """`make reproduce` (MNIST Table I at quick, configs/first-run.yaml) gets a full
    estimate: every one of its jobs has a measured time."""
    from qdistill.config import load_config
    measured = load_job_seconds()["budgets"]["quick"]
    models = load_config()["models"]
    for key in ["download/mnist", "summary_sets/mnist", "baseline/mnist", "table", "figures",
                "stability", "landing"]:
        assert key in measured, key
    for model in models:
        assert f"distill/mnist/{model}" in measured and f"evaluate/mnist/{model}" in measured
    assert load_job_seconds()["measured_on"]
