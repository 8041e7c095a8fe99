"""tools/compare_reference.py without the authors' checkout: a wrong PATH is refused with the
path and the fix, a checkout whose code fails is reported by file, line and error (and
leaves the interpreter clean), and the weight mapping covers our models exactly.
The comparison itself needs their code: docs/compare_reference.md has its numbers."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from qdistill.config import dataset_spec, load_config, model_spec
from qdistill.models import make_network
from qdistill.quantum import hermitian_from_raw

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("compare_reference",
                                               REPO / "tools" / "compare_reference.py")
cr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cr)


def fake_checkout(root: Path, networks_init: str = "") -> Path:
    """The files the tool looks for, with a QNN class; networks/__init__.py as given."""
    for name in cr.REQUIRED_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    (root / "networks" / "networks.py").write_text("class QNN:\n    pass\n")
    (root / "networks" / "__init__.py").write_text(networks_init)
    return root


def test_missing_path_is_refused_with_the_path_and_the_fix(tmp_path, capsys):
    missing = tmp_path / "no-such-checkout"
    out = tmp_path / "report.json"
    assert cr.main([str(missing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such directory" in err
    assert f"git clone {cr.UPSTREAM}" in err
    assert json.loads(out.read_text())["status"].startswith("bad checkout")


def test_a_folder_that_is_not_their_checkout_is_refused(tmp_path):
    with pytest.raises(cr.CheckoutError, match=r"lacks networks/__init__\.py.*git clone"):
        cr.check_checkout(tmp_path)
    fake_checkout(tmp_path)
    (tmp_path / "networks" / "networks.py").write_text("class LeNet:\n    pass\n")
    with pytest.raises(cr.CheckoutError, match="has no QNN.*not the paper's quantum fork"):
        cr.check_checkout(tmp_path)


def test_a_checkout_inside_this_repository_is_refused():
    with pytest.raises(cr.CheckoutError, match="inside this repository.*never vendored"):
        cr.check_checkout(REPO / "tools")


def test_their_failing_import_is_reported_by_file_line_and_error(tmp_path, capsys):
    root = fake_checkout(tmp_path / "dd-qnn", "import logging\nimport no_such_module_qdistill\n")
    modules, path = set(sys.modules), list(sys.path)
    out = tmp_path / "report.json"
    assert cr.main([str(root), "--out", str(out)]) == 2
    broken = json.loads(out.read_text())["broken"]
    assert broken == {"stage": "import",
                      "where": "networks/__init__.py:2: import no_such_module_qdistill",
                      "error": "ModuleNotFoundError: No module named 'no_such_module_qdistill'"}
    assert "networks/__init__.py:2" in capsys.readouterr().err
    # nothing of theirs (nor the six stand-in) stays behind in this interpreter
    assert not {m.split(".")[0] for m in set(sys.modules) - modules} & {
        *cr.REFERENCE_MODULES, "six"}
    assert sys.path == path


@pytest.mark.parametrize("model_id,mapping", [("q-res-herm-frozen", cr.QNN_MAP),
                                              ("classical", cr.LENET_MAP)])
def test_the_weight_mapping_covers_our_model_exactly(model_id, mapping):
    """Every parameter of our model is the image of exactly one of theirs (names made from
    the mapping's inverse), and copy_weights puts each value in its place."""
    config = load_config()
    source, target = (make_network(model_spec(config, model_id), dataset_spec(config, "mnist"),
                                   seed, dtype=torch.float64) for seed in (0, 1))
    inverse = {ours: theirs for theirs, ours in mapping.items()}
    theirs = {}
    for name, p in source.named_parameters():
        prefixes = [o for o in inverse if name == o or name.startswith(o + ".")]
        assert len(prefixes) == 1, name
        their_name = inverse[prefixes[0]] + name[len(prefixes[0]):]
        assert cr.map_name(their_name, mapping) == name
        theirs[their_name] = p.detach()
    cr.copy_weights(theirs, target, mapping)
    for (name, a), b in zip(source.named_parameters(), target.parameters(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(KeyError, match="only ours"):
        cr.copy_weights(dict(list(theirs.items())[1:]), target, mapping)


def test_their_hermitian_parameters_map_onto_ours_unchanged():
    """Their QNN builds A[r, c] = matrix[r, c, 0] + i matrix[r, c, 1] and H = (A + A^H) / 2;
    QNN_MAP copies `matrix` into observable_raw as it is, which is right only while our
    hermitian_from_raw reads the raw entries the same way."""
    raw = torch.randn(6, 2, 2, 2, dtype=torch.float64)
    h = hermitian_from_raw(raw)
    expected_re = (raw[..., 0] + raw[..., 0].transpose(1, 2)) / 2
    expected_im = (raw[..., 1] - raw[..., 1].transpose(1, 2)) / 2
    assert torch.equal(h.real, expected_re) and torch.equal(h.imag, expected_im)
    assert cr.QNN_MAP["matrix"] == "qnn.observable_raw"


def test_difference_is_relative_to_the_largest_reference_value():
    d = cr.difference(torch.tensor([1.0, -4.0]), torch.tensor([1.5, -4.0]))
    assert d == {"shape": [2], "max_abs": 0.5, "rel": 0.125, "max_theirs": 4.0}
