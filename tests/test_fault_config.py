"""Faults: bad config values fail when the config is read, before anything runs, with the
file, the key, the bad value and what is allowed. (At the workflow's parse time:
test_fault_workflow.py.)"""

import pytest
import yaml

from qdistill.cli import main
from qdistill.config import DEFAULT_CONFIG, ConfigError, load_config, run_settings


@pytest.mark.parametrize("overrides, message", [
    ({"budget": "huge"}, r"key 'budget': unknown budget 'huge'; allowed: paper, paper-clip, quick, smoke"),
    ({"models": ["classical", "q-res-hermm"]}, r"key 'models': unknown model id 'q-res-hermm'; "
                                               r"allowed: classical, q-res-herm"),
    ({"qnn_backend": "qiskit"}, r"key 'qnn_backend': 'qiskit' is not one of \['fast', "
                                r"'pennylane'\]"),
    ({"data_mirror": "/no/such/folder"}, r"key 'data_mirror': folder '/no/such/folder' does "
                                         r"not exist"),
    ({"datasets": ["imagenet"]}, r"key 'datasets.0': 'imagenet' is not one of"),
    ({"freeze_circuit": "yes"}, r"key 'freeze_circuit': 'yes' is not of type 'boolean'"),
    ({"device": "tpu"}, r"key 'device': 'tpu' is not one of \['auto', 'cpu', 'cuda'\]"),
])
def test_fault_bad_top_level_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=overrides)


def edited_config(tmp_path, edit):
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def set_key(dotted, value):
    def edit(config):
        *parents, last = dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


@pytest.mark.parametrize("key, value, message", [
    ("budgets.paper.seeds", 3, r"key 'budgets.paper.seeds': 3 is not of type 'array'"),
    ("budgets.paper.seeds", [0, -1], r"key 'budgets.paper.seeds.1': -1 is less than the "
                                     r"minimum of 0"),
    ("budgets.paper.seeds", [0, 1.5], r"key 'budgets.paper.seeds.1': 1.5 is not of type "
                                      r"'integer'"),
    ("budgets.paper.seeds", [0, 0], r"key 'budgets.paper.seeds': \[0, 0\] has non-unique"),
    ("dataset_settings.mnist.distill_steps", 0, r"key 'dataset_settings.mnist.distill_steps': "
                                                r"0 is less than the minimum of 1"),
    ("dataset_settings.cifar10.distill_epochs", 0, r"key 'dataset_settings.cifar10."
                                                   r"distill_epochs': 0 is less than the "
                                                   r"minimum of 1"),
    ("budgets.paper.batch_size", 60_001, r"key 'budgets.paper.batch_size': 60001 is larger "
                                         r"than the 50000 training images of cifar10; "
                                         r"allowed: 1 to 50000"),
    ("baseline.batch_size", 50_001, r"key 'baseline.batch_size': 50001 is larger than the "
                                    r"50000 training images of cifar10"),
    ("budgets.paper.checkpoint_every", -1, r"key 'budgets.paper.checkpoint_every': -1 is less "
                                           r"than the minimum of 0"),
    ("budgets.paper.epoch", 3, r"key 'budgets.paper': Additional properties are not allowed "
                               r"\('epoch' was unexpected\)"),
    ("dataset_settings.mnist.image_size", 32, r"key 'dataset_settings.mnist': channels, "
                                              r"image_size, num_classes are \(1, 32, 10\), "
                                              r"but mnist has \(1, 28, 10\)"),
    ("cost.models", ["classical"], r"key 'cost.models': 'classical' is not a quantum model "
                                   r"of model_variants; allowed: .*q-res-herm"),
    ("cost.shots", [100, 0], r"key 'cost.shots.1': 0 is less than the minimum of 1"),
    ("budgets.paper.shot_test_images", 0, r"key 'budgets.paper.shot_test_images': 0 is less "
                                          r"than the minimum of 1"),
    ("model_variants.q-res-herm.observable", "pauli-x",
     r"key 'model_variants.q-res-herm.observable': 'pauli-x' is not one of"),
    ("model_variants.q-res-herm-angle.embedding", "basis",
     r"key 'model_variants.q-res-herm-angle.embedding': 'basis' is not one of \['amplitude', "
     r"'angle'\]"),
    ("model_variants.classical.front_end", "quanvolution",
     r"key 'model_variants.classical': front_end only apply to quantum variants"),
    ("extensions.models", ["q-res-herm-angel"],
     r"key 'extensions.models': unknown model id 'q-res-herm-angel'; allowed: classical"),
    ("extensions.transfer_models", ["lenet"],
     r"key 'extensions.transfer_models': unknown model id 'lenet'"),
    ("extensions.reference", "q-res", r"key 'extensions.reference': unknown model id 'q-res'"),
    ("quantum.n_qubits", 2, r"key 'model_variants.q-res-herm-pair': observable hermitian-pair "
                            r"needs quantum.n_qubits >= 3, got 2"),
    ("budgets.quick.transfer_inits", 0, r"key 'budgets.quick.transfer_inits': 0 is less than "
                                        r"the minimum of 1"),
])
def test_fault_bad_nested_values_name_file_key_value_and_fix(tmp_path, key, value, message):
    path = edited_config(tmp_path, set_key(key, value))
    with pytest.raises(ConfigError, match=rf"{path}: {message}"):
        load_config(path)


def test_fault_unknown_ids_and_seeds_in_run_settings():
    config = load_config()
    with pytest.raises(ConfigError, match="unknown model id 'lenet'"):
        run_settings(config, "mnist", "lenet", 0)
    with pytest.raises(ConfigError, match="unknown dataset 'svhn'"):
        run_settings(config, "svhn", "classical", 0)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer, got -2"):
        run_settings(config, "mnist", "classical", -2)


def test_fault_batch_larger_than_a_dataset_outside_the_config_list():
    """`datasets: [mnist]` with a batch of 55,000: fine for MNIST, but a run of CIFAR-10
    (e.g. `--dataset cifar10` on the CLI) is refused before it starts."""
    config = load_config(overrides={"datasets": ["mnist"], "budget": "paper"})
    config["budgets"]["paper"]["batch_size"] = 55_000
    run_settings(config, "mnist", "classical", 0)
    with pytest.raises(ConfigError, match=r"key 'budgets.paper.batch_size': 55000 is larger "
                                          r"than the 50000 training images of cifar10"):
        run_settings(config, "cifar10", "classical", 0)


def test_fault_missing_config_file():
    with pytest.raises(ConfigError, match="config file '/nope.yaml' not found; pass --config"):
        load_config("/nope.yaml")


def test_fault_cli_unknown_model_fails_clearly_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["distill", "--dataset", "mnist", "--model", "q-res-hermitian",
                 "--out", str(out), "--budget", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "unknown model id 'q-res-hermitian'; allowed: classical, q-res-herm" in err
    assert not out.exists() or not any(out.iterdir())


def test_fault_cli_unknown_budget_fails_clearly(tmp_path, capsys):
    assert main(["distill", "--dataset", "mnist", "--model", "classical", "--out",
                 str(tmp_path), "--budget", "tiny"]) == 2
    assert "key 'budget': unknown budget 'tiny'; allowed: paper, paper-clip, quick, smoke" in (
        capsys.readouterr().err)
