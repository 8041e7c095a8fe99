"""Files written whole or not at all, and JSON read with an error that names the file: the
bottom floor that every other module may import.

Every file is written to a temporary name in the same folder and renamed into place, so
an interrupted run never leaves a file that a later run could take for finished.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


class ArtifactError(RuntimeError):
    """A run output is missing, truncated or not ours; the message names the file."""


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write) -> None:
    """Call write(handle) on a temporary file beside path, then rename it into place; on any
    failure the temporary file is removed and path is untouched. The file gets the mode a
    plain open() would give (mkstemp's own is 0600: unreadable to collaborators)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if _disk_full(err, path.parent):
            raise ArtifactError(
                f"{path} could not be written: the disk holding {path.parent} is full "
                f"({shutil.disk_usage(path.parent).free:,} bytes free). The previous "
                "version, if any, is intact; free some space and run the same command "
                "again (a distillation resumes from its last checkpoint).") from err
        raise


def _disk_full(err: BaseException, folder: Path) -> bool:
    """ENOSPC, or torch.save's RuntimeError for a failed write on a (nearly) full disk (its
    zip writer says "unexpected pos ..." or names a failed write, never the disk)."""
    if isinstance(err, OSError):
        return err.errno == errno.ENOSPC
    text = str(err).lower()
    return (isinstance(err, RuntimeError) and ("write" in text or "unexpected pos" in text)
            and shutil.disk_usage(folder).free < 64 * 2**20)


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(Path(path), lambda h: h.write((json.dumps(obj, indent=2) + "\n").encode()))


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file's bytes: what ties a result file to the file it was made from."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ArtifactError(f"{path} not found.") from err
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path} is not valid JSON ({err}); delete it and rerun.") from err
