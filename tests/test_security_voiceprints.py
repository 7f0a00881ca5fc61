"""Voiceprints cannot be poisoned (issue 17), through a real ``voicebot serve`` over HTTP, on SQLite
and PostgreSQL.

Before: any user's `POST /api/meetings/ID/speakers/rename {"old": "Bob", "new": "Alice", "enroll": true}`
stored Bob's voice as Alice's voiceprint, and merged the two speakers for good. Now a member may
enroll only their own voice, from a speaker who is nobody else yet; merging or enrolling anyone
else needs an admin; every change is logged with who made it, and `voicebot people undo` reverts it."""

from __future__ import annotations

import numpy as np
from security_helpers import VOICE, logged_in
from web_helpers import EN_ID, UNNAMED, USER, clean_env, settings_of

from tests.conftest import run_cli


def _archive(team):
    from voicebot.archive import open_archive

    home, env = team
    return open_archive(settings_of(home, **env))


def _voiceprint(team, name):
    with _archive(team) as db:
        person = db.get_person(name)
    return None if person is None else person["voiceprint"]


def test_a_member_cannot_poison_a_voiceprint(server, team):
    with logged_in(server, "alice") as alice:  # invited to EN: she may see it
        rename = f"/api/meetings/{EN_ID}/speakers/rename"
        poison = alice.post(rename, json={"old": "Bob", "new": "Alice", "enroll": True})
        assert poison.status_code == 403 and "admin" in poison.json()["detail"]
        someone_else = alice.post(rename, json={"old": UNNAMED, "new": "David", "enroll": True})
        assert someone_else.status_code == 403 and "your own voice" in someone_else.json()["detail"]
        claim_bob = alice.post(rename, json={"old": "Bob", "new": "Alicia", "enroll": True})
        assert claim_bob.status_code == 403
        # the same through the page's form
        page = alice.get(f"/meetings/{EN_ID}")
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        alice.post(f"/meetings/{EN_ID}/rename-speaker", data={"old": "Bob", "new": "Alice", "enroll": "true",
                                                               "csrf_token": token})
        assert "only an admin" in alice.get(f"/meetings/{EN_ID}").text
    assert np.array_equal(_voiceprint(team, "Alice"), VOICE["Alice"])
    assert np.array_equal(_voiceprint(team, "Bob"), VOICE["Bob"])
    with _archive(team) as db:
        assert {"Alice", "Bob", UNNAMED} <= set(db.get_meeting(EN_ID)["speakers"])  # nothing merged
        assert [c["reason"] for c in db.voiceprint_history()] == ["test", "test"]  # only the team's set-up


def test_a_member_enrolls_their_own_voice_and_an_admin_undoes_it(server, team):
    home, env = team
    with logged_in(server, "carol") as carol:  # invited to EN, where her voice is "Speaker 1"
        mine = carol.post(f"/api/meetings/{EN_ID}/speakers/rename",  # a voice embedding: slow on a busy machine
                          json={"old": UNNAMED, "new": "Carol", "enroll": True}, timeout=600)
        assert mine.status_code == 200 and mine.json()["enrolled"], mine.text
    with _archive(team) as db:
        carol_person = db.get_person("Carol")
        assert carol_person["has_voiceprint"] and carol_person["email"] == "carol@example.org"
        change = db.voiceprint_history("Carol")[0]
    assert change["changed_by"] == "carol" and not change["had_old"] and change["has_new"]
    history = run_cli("people", "history", "--json", env=clean_env(home, **env))
    assert history.returncode == 0 and '"changed_by": "carol"' in history.stdout
    undone = run_cli("people", "undo", str(change["id"]), env=clean_env(home, **env))
    assert undone.returncode == 0 and "Carol has no voiceprint now" in undone.stdout, undone.stderr
    assert _voiceprint(team, "Carol") is None
    again = run_cli("people", "undo", str(change["id"]), env=clean_env(home, **env))
    assert again.returncode == 2 and "undone already" in again.stderr and "Traceback" not in again.stderr


def test_an_admin_may_overwrite_a_voiceprint_and_undo_it(server, team):
    home, env = team
    with logged_in(server, USER) as claire:
        done = claire.post(f"/api/meetings/{EN_ID}/speakers/rename", json={"old": "Bob", "new": "Alice", "enroll": True},
                           timeout=600)
        assert done.status_code == 200 and done.json()["enrolled"]
    overwritten = _voiceprint(team, "Alice")
    assert overwritten is not None and not np.array_equal(overwritten, VOICE["Alice"])
    with _archive(team) as db:
        change = db.voiceprint_history("Alice")[0]
    assert change["changed_by"] == USER and change["had_old"] and "speaker Bob" in change["reason"]
    assert run_cli("people", "undo", str(change["id"]), env=clean_env(home, **env)).returncode == 0
    assert np.array_equal(_voiceprint(team, "Alice"), VOICE["Alice"])  # exactly the old one back
    with _archive(team) as db:
        assert db.voiceprint_history("Alice")[0]["reason"] == f"undo of change {change['id']}"
