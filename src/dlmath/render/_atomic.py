"""Replace a directory as one step, so an interrupted build leaves the previous page intact.

The new tree is written into a temporary directory beside the target (same file system), then
exchanged with the old one. On Linux the exchange is a single ``renameat2(RENAME_EXCHANGE)``;
elsewhere it is two renames, and the old tree survives under a hidden name until the second one.
A target that exists but was not written by dlmath (no marker file) is never replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

MARKER = ".dlmath-page"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False where the platform cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def check_replaceable(target: Path) -> None:
    """Raise ``FileExistsError`` if ``target`` exists and is not a page this module wrote."""
    if not target.exists():
        return
    if not target.is_dir() or target.is_symlink():
        raise FileExistsError(f"refusing to replace {target}: it is not a directory")
    if any(target.iterdir()) and not (target / MARKER).is_file():
        raise FileExistsError(
            f"refusing to replace {target}: it is not empty and was not written by 'dlmath build' "
            f"(no {MARKER} file); choose another output directory"
        )


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on normal exit it becomes ``target``.

    If the body raises, the temporary directory is removed and ``target`` is untouched.
    """
    target = Path(target).absolute()
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield tmp
        (tmp / MARKER).write_text("written by 'dlmath build'; the whole directory is replaced on rebuild\n")
        os.chmod(tmp, 0o755)
        if target.exists():
            if _exchange(tmp, target):
                shutil.rmtree(tmp)
                return
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "page")
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
