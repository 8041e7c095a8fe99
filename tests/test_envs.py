"""The conda envs under envs/ pin exactly the versions that requirements.txt pins."""

import importlib.metadata as metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate():
                continue  # not for this platform
            spec = str(req.specifier)
            assert spec.startswith("==") and "," not in spec, f"not an exact pin: {line}"
            out[canonicalize_name(req.name)] = spec[2:]
    return out


REQUIREMENTS = pins((REPO / "requirements.txt").read_text().splitlines())
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def test_requirements_pin_the_mandated_versions():
    assert REQUIREMENTS["torch"] == "2.14.1" and REQUIREMENTS["torchvision"] == "0.29.1"
    assert REQUIREMENTS["pennylane"].startswith("0.45.")
    assert REQUIREMENTS["pennylane-lightning"].startswith("0.45.")
    assert REQUIREMENTS["snakemake"].startswith("9.")


def test_the_environment_is_exactly_the_lock():
    """requirements.txt pins every installed distribution, transitive ones included (make
    lock writes it), and nothing that is not installed."""
    installed = {canonicalize_name(d.metadata["Name"]): d.version
                 for d in metadata.distributions()}
    for name in ("qdistill", "pip"):
        installed.pop(name, None)
    assert installed == REQUIREMENTS


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_agree_with_requirements(env_file):
    env = yaml.safe_load(env_file.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(d.startswith("python=3.11.") for d in conda), "python must be pinned to 3.11.x"
    assert all("=" in d for d in conda), f"unpinned conda package in {env_file.name}"
    for name, version in pins(pip).items():
        assert REQUIREMENTS.get(name) == version, (
            f"{env_file.name}: {name}=={version}, requirements.txt has {REQUIREMENTS.get(name)}")


def test_every_rule_env_exists():
    rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    used = {line.strip().strip('"').removeprefix("../") for line in rules.splitlines()
            if line.strip().startswith('"../envs/')}
    assert used == {f"envs/{p.name}" for p in ENV_FILES}
