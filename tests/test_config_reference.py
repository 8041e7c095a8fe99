"""docs/config.md is what the schema and config.yaml generate, and every key is in it."""

import pytest
import yaml

from qdistill.config import DEFAULT_CONFIG, SCHEMA_PATH
from qdistill.config_reference import reference_markdown, rows

SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
CONFIG = yaml.safe_load(DEFAULT_CONFIG.read_text())


def test_committed_reference_is_current():
    committed = (SCHEMA_PATH.parents[1] / "docs" / "config.md").read_text()
    assert committed == reference_markdown(SCHEMA, CONFIG), (
        "docs/config.md is stale: python -m qdistill.config_reference > docs/config.md")


def test_every_key_of_config_yaml_has_a_row():
    keys = {row[0] for row in rows(SCHEMA, CONFIG)}
    for section, value in CONFIG.items():
        if isinstance(value, dict) and section not in (
                "model_variants", "dataset_settings", "budgets"):
            assert {f"{section}.{k}" for k in value} <= keys
        else:
            assert section in keys
    for name in ("model_variants", "dataset_settings", "budgets"):
        fields = {k for entry in CONFIG[name].values() for k in entry}
        assert {f"{name}.<name>.{k}" for k in fields} <= keys


def test_an_undocumented_key_is_named():
    schema = {"properties": {"quantum": {"properties": {
        "n_qubits": {"type": "integer", "description": "qubits"}}}}}
    with pytest.raises(KeyError, match="key 'quantum.n_qubits' has no x-reruns; add them"):
        list(rows(schema, {"quantum": {"n_qubits": 6}}))
