"""The repository's config.yaml is the paper's protocol. (Bad values: test_fault_config.py.)"""

from pathlib import Path

from qdistill.config import load_config, run_settings


def test_quick_budget_is_the_default_and_paper_follows_the_reference():
    """One default everywhere: config.yaml, make and the README's bare commands run quick;
    the paper budget is asked for by name."""
    assert load_config()["budget"] == "quick"
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "BUDGET ?= quick" in makefile
    config = load_config(overrides={"budget": "paper"})
    assert config["qnn_backend"] == "fast"
    assert config["freeze_circuit"] is False
    mnist = run_settings(config, "mnist", "q-res-herm", 0)
    assert mnist.distill.inner_steps == 3 and mnist.distill.batch_size == 1024
    assert mnist.distill.epochs == 400 and mnist.distill.decay_epochs == 40
    assert mnist.distill.outer_lr == 0.01 and mnist.distill.outer_betas == (0.5, 0.999)
    assert mnist.distill.distill_lr_init == 0.02
    cifar = run_settings(config, "cifar10", "classical", 0)
    assert cifar.distill.inner_steps == 30 and cifar.dataset.augment
    assert config["budgets"]["paper"]["seeds"] == [0, 1, 2]


def test_paper_clip_is_the_paper_protocol_with_the_hypergradient_capped():
    """Its runs differ from the paper's only by the clip (and the budget that names them)."""
    config = load_config(overrides={"budget": "paper-clip"})
    for dataset, model in (("mnist", "q-res-herm"), ("cifar10", "classical")):
        clipped = run_settings(config, dataset, model, 1).to_dict()
        paper = run_settings(config | {"budget": "paper"}, dataset, model, 1).to_dict()
        assert clipped["distill"].pop("outer_grad_clip") == 10
        assert paper["distill"].pop("outer_grad_clip", None) is None  # null: left out
        assert (clipped.pop("budget"), paper.pop("budget")) == ("paper-clip", "paper")
        assert clipped == paper
