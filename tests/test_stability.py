"""The stability measures (src/qdistill/report/stability.py) on logs whose answer is known."""

import math

import pytest

from qdistill.config import load_config
from qdistill.report.stability import run_stability, stability_frame, stability_summary

VARIANTS = load_config()["model_variants"]


def metrics(model, seed, accs, losses, key="test_acc", final=50.0):
    history = [{"iteration": 100 * (i + 1), key: a, "outer_loss": l}
               for i, (a, l) in enumerate(zip(accs, losses))]
    return {"dataset": "mnist", "model": model, "seed": seed, "budget": "quick",
            "test_acc": final, "best": {"test_acc": 60.0}, "distill": {"history": history}}


def test_volatility_is_the_mean_change_over_the_second_half():
    # iterations 100..800: the second half is 500..800 (accs 70, 40, 80, 60)
    row = run_stability(metrics("q-res-herm", 0, [10, 20, 30, 40, 70, 40, 80, 60],
                                [2, 2, 2, 2, 1.0, 0.5, 1.0, 0.9]))
    assert row["log_points"] == 4 and row["accuracy_source"] == "test_acc"
    assert row["acc_volatility"] == pytest.approx((30 + 40 + 20) / 3)
    assert row["acc_range"] == 40
    assert row["loss_volatility"] == pytest.approx((0.5 + 0.5 + 0.1) / 3)
    assert row["best_acc"] == 60.0


def test_older_logs_use_the_monitor_batch_and_summary_spreads_over_seeds():
    rows = [metrics("q-res-fixedherm", s, [50] * 4, [1] * 4, key="test_batch_acc", final=f)
            for s, f in ((0, 70.0), (1, 80.0))]
    frame = stability_frame(rows)
    assert set(frame.accuracy_source) == {"test_batch_acc"}
    assert (frame.acc_volatility == 0).all()
    summary = stability_summary(frame, ["classical", "q-res-fixedherm"], VARIANTS)
    assert list(summary.model) == ["q-res-fixedherm"]  # models without runs are left out
    row = summary.iloc[0]
    assert row.n_seeds == 2 and row.final_acc_mean == 75.0
    assert row.final_acc_std == pytest.approx(math.sqrt(50))
    assert row.observable == "fixed Hermitian" and row.residual == "yes"
