"""Bad config values fail at load time, naming the key, the value and what is allowed."""

import pytest

from qdistill.config import ConfigError, load_config, run_settings


def test_paper_budget_is_the_default_and_follows_the_reference():
    config = load_config()
    assert config["budget"] == "paper" and config["qnn_backend"] == "fast"
    assert config["freeze_circuit"] is False
    mnist = run_settings(config, "mnist", "q-res-herm", 0)
    assert mnist.distill.inner_steps == 3 and mnist.distill.batch_size == 1024
    assert mnist.distill.epochs == 400 and mnist.distill.decay_epochs == 40
    assert mnist.distill.outer_lr == 0.01 and mnist.distill.outer_betas == (0.5, 0.999)
    assert mnist.distill.distill_lr_init == 0.02
    cifar = run_settings(config, "cifar10", "classical", 0)
    assert cifar.distill.inner_steps == 30 and cifar.dataset.augment
    assert config["budgets"]["paper"]["seeds"] == [0, 1, 2]


@pytest.mark.parametrize("overrides, message", [
    ({"budget": "huge"}, r"key 'budget': unknown budget 'huge'; allowed: paper, quick, smoke"),
    ({"models": ["classical", "q-res-hermm"]}, r"key 'models': unknown model id 'q-res-hermm'"),
    ({"qnn_backend": "qiskit"}, r"key 'qnn_backend': 'qiskit' is not one of \['fast', "
                                r"'pennylane'\]"),
    ({"data_mirror": "/no/such/folder"}, r"key 'data_mirror': folder '/no/such/folder' does "
                                         r"not exist"),
    ({"datasets": ["imagenet"]}, r"key 'datasets.0': 'imagenet' is not one of"),
    ({"freeze_circuit": "yes"}, r"key 'freeze_circuit': 'yes' is not of type 'boolean'"),
])
def test_bad_top_level_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=overrides)


def test_bad_nested_values(tmp_path):
    import yaml
    from qdistill.config import DEFAULT_CONFIG
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["budgets"]["quick"]["seeds"] = [0, -1]
    config["dataset_settings"]["mnist"]["distill_steps"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=rf"{path}: key 'budgets.quick.seeds.1': -1 is less "
                                          r"than the minimum of 0"):
        load_config(path)
    config["budgets"]["quick"]["seeds"] = [0]
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"key 'dataset_settings.mnist.distill_steps': 0 is "
                                          r"less than the minimum of 1"):
        load_config(path)
    config["dataset_settings"]["mnist"]["distill_steps"] = 1
    config["dataset_settings"]["mnist"]["image_size"] = 32
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"key 'dataset_settings.mnist': channels, image_size, "
                                          r"num_classes are \(1, 32, 10\), but mnist has "
                                          r"\(1, 28, 10\)"):
        load_config(path)


def test_unknown_ids_in_run_settings():
    config = load_config()
    with pytest.raises(ConfigError, match="unknown model id 'lenet'"):
        run_settings(config, "mnist", "lenet", 0)
    with pytest.raises(ConfigError, match="unknown dataset 'svhn'"):
        run_settings(config, "svhn", "classical", 0)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        run_settings(config, "mnist", "classical", -2)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file '/nope.yaml' not found"):
        load_config("/nope.yaml")
