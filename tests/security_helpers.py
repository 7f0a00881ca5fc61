"""What the security tests share: a team on the seeded web home (web_helpers.seed), and a real
``voicebot serve`` for it, on SQLite or (slow-marked) PostgreSQL.

The team (every password is web_helpers.PASSWORD):

    claire   admin                          sees EN, FR, HOSTILE (everything)
    alice    member  alice@example.org      sees EN      (invited: meeting-en.ics)
    carol    member  carol@example.org      sees EN      (invited; "Speaker 1" in EN is her unnamed voice)
    zoe      member  zoe@example.org        sees HOSTILE (attended: the person Zoé, a speaker there, has her address)
    otto     member  (no email)             sees FR      (organised it: its owner)
    mallory  member  mallory@example.org    sees nothing, until a meeting is shared with her

People: Alice and Bob are enrolled (voiceprints), Zoé is known by her address only.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pytest
from web_helpers import EN_ID, FR_ID, HOSTILE_ID, PASSWORD, USER, Server, client, login, seed, settings_of

from voicebot import recordings

MEMBERS = {"alice": "alice@example.org", "carol": "carol@example.org", "zoe": "zoe@example.org", "otto": None,
           "mallory": "mallory@example.org"}
VISIBLE = {USER: {EN_ID, FR_ID, HOSTILE_ID}, "alice": {EN_ID}, "carol": {EN_ID}, "zoe": {HOSTILE_ID},
           "otto": {FR_ID}, "mallory": set()}
ALL = (EN_ID, FR_ID, HOSTILE_ID)
VOICE = {"Alice": np.linspace(0.1, 1.0, 256, dtype=np.float32), "Bob": np.linspace(1.0, 0.1, 256, dtype=np.float32)}


def add_team(settings) -> None:
    from voicebot.archive import open_archive
    from voicebot.web.auth import hash_password

    password_hash = hash_password(PASSWORD)  # one argon2 hash for all: the same password
    with open_archive(settings) as db:
        for name, email in MEMBERS.items():
            db.add_user(name, password_hash, email=email)
        db.upsert_person("Alice", email="alice@example.org", voiceprint=VOICE["Alice"], source="test")
        db.upsert_person("Bob", email="bob@example.org", voiceprint=VOICE["Bob"], source="test")
        db.upsert_person("Zoé", email="zoe@example.org")
        db.set_owner(FR_ID, "otto")


@pytest.fixture(scope="session")
def team_template(web_template, tmp_path_factory):
    """The seeded web home with the team, once per session (SQLite)."""
    from voicebot.archive import open_archive

    home = tmp_path_factory.mktemp("team-template") / "home"
    shutil.copytree(web_template, home)
    settings = settings_of(home)
    with open_archive(settings) as db:
        for directory in recordings.list_meeting_dirs(settings.recordings_dir):
            db.save_meeting(recordings.load_meeting(directory), directory=directory)
    add_team(settings)
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def team(request, team_template, tmp_path):
    """(home, env): this test's copy of the team's home; on PostgreSQL, a fresh database seeded the same way
    (env holds its VOICEBOT_DATABASE_URL, for the server, the CLI and settings_of)."""
    home = tmp_path / "home"
    shutil.copytree(team_template, home)
    env: dict[str, str] = {}
    settings = settings_of(home)
    if request.param == "postgres":
        env["VOICEBOT_DATABASE_URL"] = request.getfixturevalue("postgres_url")
        settings = settings_of(home, **env)
        shutil.rmtree(settings.recordings_dir)
        seed(settings)
        add_team(settings)
    else:
        from voicebot.archive import open_archive

        with open_archive(settings) as db:  # the folders moved with the copy
            for directory in recordings.list_meeting_dirs(settings.recordings_dir):
                db.save_meeting(recordings.load_meeting(directory), directory=directory)
    return home, env


@pytest.fixture
def server(team):
    home, env = team
    running = Server(home, env=env)
    yield running
    running.stop()


@contextmanager
def logged_in(server: Server, user: str, password: str = PASSWORD, **kwargs) -> Iterator[httpx.Client]:
    """An HTTP client of the server with ``user`` logged in (cookie + CSRF token in X-CSRF-Token)."""
    with client(server, **kwargs) as http:
        done = login(http, user=user, password=password)
        assert done.status_code == 303, (user, done.status_code, done.text[:300])
        http.headers["X-CSRF-Token"] = http.get("/api/session").json()["csrf_token"]
        yield http
