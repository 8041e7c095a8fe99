"""tools/resume_changed.py: a checkpoint resumed under a changed setting is the original run
to the byte until the change acts (docs/extensions.md, outer-gradient spikes)."""

import json
import subprocess
import sys
from pathlib import Path

from qdistill.config import load_config, run_settings
from qdistill.data import load_dataset
from qdistill.distill import Checkpointing, distill

REPO = Path(__file__).resolve().parents[1]


def test_a_change_that_never_acts_resumes_the_original_run_to_the_byte(tmp_path, mirror):
    settings = run_settings(load_config(overrides={"budget": "smoke", "device": "cpu"}),
                            "mnist", "classical", 0)
    data = load_dataset("mnist", REPO / "resources" / "data", mirror)
    checkpoint = tmp_path / "checkpoint.pt"
    # checkpoints after iterations 2 and 4; the last one kept is iteration 4's
    original = distill(settings, data, iterations=6, log_every=2, progress=False,
                       checkpointing=Checkpointing(checkpoint, every=2))
    out = tmp_path / "resumed.json"
    subprocess.run([sys.executable, str(REPO / "tools" / "resume_changed.py"), str(checkpoint),
                    "--set", "outer_grad_clip=1e9", "--until", "6", "--log-every", "2",
                    "--out", str(out), "--mirror", str(mirror),
                    "--data-root", str(REPO / "resources" / "data")],
                   check=True, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    resumed = json.loads(out.read_text())
    assert resumed["resumed_at"] == 4 and resumed["changed"] == {"outer_grad_clip": 1e9}
    assert resumed["settings"]["distill"]["outer_grad_clip"] == 1e9
    assert resumed["history"][-1]["iteration"] == 6
    last = {key: value for key, value in resumed["history"][-1].items() if key != "elapsed_s"}
    assert last == {key: value for key, value in original.history[-1].items()
                    if key != "elapsed_s"}


def test_an_unknown_setting_is_refused_with_the_keys_it_takes(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "tools" / "resume_changed.py"),
                             str(tmp_path / "none.pt"), "--set", "epochs=3", "--until", "6",
                             "--out", str(tmp_path / "x.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "outer_grad_clip" in result.stderr
