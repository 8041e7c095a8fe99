"""Faults: truncated, corrupt or foreign distilled.pt files (and checkpoints) are detected
(never unpickled blindly) and named; an interrupted write leaves the previous file and no
temporary."""

import errno

import pytest
import torch

from qdistill.artifacts import (
    CHECKPOINT,
    CHECKPOINT_FORMAT,
    DISTILLED,
    FORMAT,
    METRICS,
    load_checkpoint,
    load_distilled,
)
from qdistill.files import ArtifactError, read_json, write_atomic
from qdistill.cli import main
from qdistill.config import run_settings
from qdistill.runs import distill_run


@pytest.fixture(scope="module")
def real_distilled(tmp_path_factory, mirror, data_root):
    """A genuine distilled.pt (classical LeNet, smoke budget) to damage."""
    from qdistill.config import load_config
    config = load_config(overrides={"budget": "smoke", "device": "cpu"})
    out = tmp_path_factory.mktemp("run")
    return distill_run(run_settings(config, "mnist", "classical", 0), out, data_root, mirror,
                       progress=False).read_bytes()


def test_fault_missing_distilled_set_says_how_to_make_it(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "distilled.pt not found; run `python -m qdistill distill" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the garbage bytes
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_fault_damaged_distilled_set_is_named_and_no_metrics_are_written(
        damage, real_distilled, tmp_path, capsys, mirror, data_root):
    data = {"truncated": real_distilled[:500], "garbage": b"\x80\x04not a torch file",
            "empty": b""}[damage]
    (tmp_path / DISTILLED).write_bytes(data)
    with pytest.raises(ArtifactError, match=rf"{tmp_path / DISTILLED} is truncated or corrupt "
                                            rf"\(.*\); delete the run folder {tmp_path} and "
                                            r"distill again"):
        load_distilled(tmp_path / DISTILLED)
    assert main(["evaluate", str(tmp_path), "--data-root", str(data_root),
                 "--data-mirror", str(mirror)]) == 2
    assert "is truncated or corrupt" in capsys.readouterr().err
    assert not (tmp_path / METRICS).exists()


def test_fault_foreign_file_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / DISTILLED)
    with pytest.raises(ArtifactError, match=r"is not a qdistill distilled set \(format None, "
                                            r"expected 'qdistill-distilled/1'\)"):
        load_distilled(tmp_path / DISTILLED)


@pytest.mark.parametrize("name, fmt, load", [(DISTILLED, FORMAT, load_distilled),
                                             (CHECKPOINT, CHECKPOINT_FORMAT, load_checkpoint)])
def test_fault_pickled_code_is_never_run(tmp_path, monkeypatch, name, fmt, load):
    """weights_only=True: a distilled set or checkpoint that would call a function when
    unpickled is refused."""
    monkeypatch.chdir(tmp_path)  # where the payload would write
    class Payload:
        def __reduce__(self):
            return (exec, ("open('PWNED', 'w').close()",))

    torch.save({"format": fmt, "images": Payload()}, tmp_path / name)
    with pytest.raises(ArtifactError, match="truncated or corrupt"):
        load(tmp_path / name)
    assert not (tmp_path / "PWNED").exists()


def test_fault_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text('{"finished": true}')

    def dies_halfway(handle):
        handle.write(b'{"finished": fal')
        raise KeyboardInterrupt  # e.g. Ctrl-C or a signal in the middle of the write

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, dies_halfway)
    assert read_json(target) == {"finished": True}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_fault_full_disk_names_the_file_and_how_to_go_on(tmp_path):
    target = tmp_path / CHECKPOINT
    target.write_bytes(b"the previous checkpoint")

    def no_space(handle):
        handle.write(b"part of a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ArtifactError, match=rf"{target} could not be written: the disk "
                                            rf"holding {tmp_path} is full .*run the same "
                                            r"command again \(a distillation resumes"):
        write_atomic(target, no_space)
    assert target.read_bytes() == b"the previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]


@pytest.mark.parametrize("free, disk_named", [(10_000, True), (10 * 2**30, False)])
def test_fault_torch_save_on_a_full_disk_names_the_disk(tmp_path, monkeypatch, free, disk_named):
    """torch.save's zip writer reports a full disk as 'unexpected pos': said as a full disk
    where the disk is (nearly) full, passed on unchanged where it is not."""
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=free))

    def zip_writer_fails(handle):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 35648 "
                           "vs 35540")

    target = tmp_path / "distilled.pt"
    if disk_named:
        expected = (ArtifactError, rf"{target} could not be written: the disk holding "
                                   rf"{tmp_path} is full \(10,000 bytes free\)")
    else:
        expected = (RuntimeError, "unexpected pos")
    with pytest.raises(expected[0], match=expected[1]):
        write_atomic(target, zip_writer_fails)
    assert list(tmp_path.iterdir()) == []


def test_fault_half_written_json_is_named(tmp_path):
    (tmp_path / METRICS).write_text('{"test_acc": 9')
    with pytest.raises(ArtifactError, match=rf"{tmp_path / METRICS} is not valid JSON"):
        read_json(tmp_path / METRICS)


def test_fault_bad_call_destroys_no_good_result(real_distilled, tmp_path, mirror, data_root):
    """evaluate with a wrong data mirror fails by name and leaves the good metrics.json."""
    (tmp_path / DISTILLED).write_bytes(real_distilled)
    common = ["--data-root", str(data_root), "--threads", "1"]
    assert main(["evaluate", str(tmp_path), "--data-mirror", str(mirror), *common]) == 0
    good = (tmp_path / METRICS).read_bytes()
    assert main(["evaluate", str(tmp_path), "--data-mirror", str(tmp_path / "nowhere"),
                 *common]) == 2
    assert (tmp_path / METRICS).read_bytes() == good


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    import os

    from qdistill.files import write_json

    before = os.umask(umask)
    try:
        write_json(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(before)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == mode
