"""Who sees which meeting (issue 17), through a real ``voicebot serve`` over HTTP, on SQLite and
PostgreSQL: two members who were invited and one who was not, a member who spoke, one who
organised, one a meeting is shared with, and an admin.

Before issue 17 every user saw every meeting, transcript, minutes, audio file and download,
renamed speakers, and read incidents with the server's paths: each check below failed then."""

from __future__ import annotations

import re

from security_helpers import ALL, VISIBLE, logged_in
from web_helpers import EN_ID, FR_ID, HOSTILE_ID, USER, app_client, client, login, settings_of

from tests.conftest import run_cli
from tests.web_helpers import clean_env

MEETING_URLS = ["/meetings/{id}", "/api/meetings/{id}", "/api/meetings/{id}/transcript", "/api/meetings/{id}/minutes",
                "/meetings/{id}/transcript.txt", "/meetings/{id}/transcript.srt", "/meetings/{id}/transcript.vtt",
                "/meetings/{id}/transcript.json", "/meetings/{id}/minutes.md"]


def _seen_in_lists(http) -> dict[str, set[str]]:
    """The meetings each list, search and dashboard figure shows this user."""
    found = {
        "api meetings": {c["id"] for c in http.get("/api/meetings").json()},
        "api status recent": {c["id"] for c in http.get("/api/status").json()["recent"]},
        "api search": {h["meeting_id"] for h in http.get("/api/search", params={"q": "the", "limit": 500}).json()},
    }
    for page in ("/meetings", "/", "/search?q=the&limit=500"):
        html = http.get(page).text
        found[f"page {page}"] = {m for m in ALL if m in html}
    return found


def test_each_user_sees_only_their_meetings(server):
    for user, visible in VISIBLE.items():
        with logged_in(server, user) as http:
            for where, seen in _seen_in_lists(http).items():
                if where.startswith("api search") or where.startswith("page /search"):
                    assert seen <= visible, (user, where, seen)  # a meeting may have no hit for "the"
                else:
                    assert seen == visible, (user, where, seen)
            status = http.get("/api/status").json()
            assert status["stats"]["meetings_total"] == len(visible), user
            assert sum(w["processed"] for w in status["weeks"]) == len(visible), user
            for meeting_id in ALL:
                for url in MEETING_URLS:
                    answer = http.get(url.format(id=meeting_id))
                    if meeting_id in visible:
                        assert answer.status_code in (200, 404), (user, url, answer.status_code)
                        if url in ("/meetings/{id}", "/api/meetings/{id}"):
                            assert answer.status_code == 200, (user, url)
                    else:  # as if it did not exist: no title, no hint
                        assert answer.status_code == 404, (user, url, meeting_id, answer.status_code)
                        assert "Website launch" not in answer.text and "salon" not in answer.text
                audio = http.get(f"/meetings/{meeting_id}/audio", headers={"Range": "bytes=0-3"})
                if meeting_id == EN_ID and meeting_id in visible:
                    assert audio.status_code == 206 and audio.content == b"fLaC"
                else:
                    assert audio.status_code == 404 and b"fLaC" not in audio.content
                # a meeting's id (or its beginning) as a search filter finds nothing it may not see
                filtered = http.get("/api/search", params={"q": "the", "meeting": meeting_id})
                if meeting_id not in visible:
                    assert filtered.status_code == 400 and "no meeting" in filtered.json()["detail"]
            speakers = set(http.get("/api/speakers").json())
            if HOSTILE_ID not in visible:
                assert "Zoé" not in speakers, user
            if EN_ID not in visible:
                assert "Alice" not in speakers and "Bob" not in speakers, user


def test_search_never_returns_a_hit_from_another_meeting(server):
    with logged_in(server, USER) as admin:
        everywhere = {h["meeting_id"] for h in admin.get("/api/search", params={"q": "the", "limit": 500}).json()}
    assert {EN_ID, HOSTILE_ID} <= everywhere  # the word is said in both
    expected = {"alice": {EN_ID}, "zoe": {HOSTILE_ID}, "otto": set(), "mallory": set()}
    for user, hits_in in expected.items():
        with logged_in(server, user) as http:
            hits = {h["meeting_id"] for h in http.get("/api/search", params={"q": "the", "limit": 500}).json()}
            assert hits == hits_in, (user, hits)
            page = http.get("/search", params={"q": "the", "limit": 500}).text
            assert all(m not in page for m in set(ALL) - VISIBLE[user]), user
            by_speaker = {h["meeting_id"] for h in http.get("/api/search", params={"q": "the", "speaker": "zoé"}).json()}
            assert by_speaker <= hits_in, user


def test_sharing_a_meeting(server, team):
    home, env = team
    with logged_in(server, "mallory") as mallory:
        assert mallory.get(f"/api/meetings/{FR_ID}").status_code == 404
        # she cannot share herself into it, nor share what she cannot see
        refused = mallory.post(f"/api/meetings/{FR_ID}/share", json={"user": "mallory"})
        assert refused.status_code == 404
        with logged_in(server, "otto") as otto:  # the organiser shares it (on the page, with the form)
            page = otto.get(f"/meetings/{FR_ID}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            done = otto.post(f"/meetings/{FR_ID}/share", data={"user": "mallory", "csrf_token": token})
            assert done.status_code == 303
            assert "Shared with mallory" in otto.get(f"/meetings/{FR_ID}").text
            unknown = otto.post(f"/api/meetings/{FR_ID}/share", json={"user": "nobody"})
            assert unknown.status_code == 400 and "no web user" in unknown.json()["detail"]
        assert mallory.get(f"/api/meetings/{FR_ID}").status_code == 200
        assert FR_ID in {c["id"] for c in mallory.get("/api/meetings").json()}
        assert mallory.get(f"/api/meetings/{FR_ID}").json()["shares"] == ["mallory"]
    # and from the command line, for another meeting, then taken back
    shared = run_cli("meetings", "share", HOSTILE_ID[:15], "mallory", env=clean_env(home, **env))
    assert shared.returncode == 0 and f"Shared {HOSTILE_ID} with mallory" in shared.stdout, shared.stderr
    with logged_in(server, "mallory") as mallory:
        assert mallory.get(f"/api/meetings/{HOSTILE_ID}").status_code == 200
        assert run_cli("meetings", "unshare", HOSTILE_ID, "mallory", env=clean_env(home, **env)).returncode == 0
        assert mallory.get(f"/api/meetings/{HOSTILE_ID}").status_code == 404
    bad = run_cli("meetings", "share", HOSTILE_ID, "nobody", env=clean_env(home, **env))
    assert bad.returncode == 2 and "no web user 'nobody'" in bad.stderr and "Traceback" not in bad.stderr


def test_incidents_outbox_and_server_paths_are_for_admins(server, team):
    from voicebot.archive import open_archive

    home, env = team
    with open_archive(settings_of(home, **env)) as db:
        db.add_incident(EN_ID, "send", "SMTP 550 mailbox unavailable", f"see {home}/recordings/{EN_ID}/pipeline.jsonl")
        db.set_stage(EN_ID, "send", "failed", error=f"SMTP 550 (copy kept in {home}/outbox)")
    with logged_in(server, "alice") as alice:  # she may see the meeting, not the server's business
        status = alice.get("/api/status").json()
        assert status["incidents"] == [] and status["failed_messages"] == []
        assert status["stats"]["incidents_this_week"] == 0 and status["stats"]["free_bytes"] is None
        assert str(home) not in alice.get("/api/status").text and str(home) not in alice.get("/").text
        assert "Recent incidents" not in alice.get("/").text
        assert [j["meeting_id"] for j in status["jobs"]] == [EN_ID]  # her meeting's job, yes, not its error
        assert "an admin can see why" in status["jobs"][0]["error"]
        assert str(home) not in alice.get(f"/api/meetings/{EN_ID}").text
        assert alice.get("/admin/users").status_code == 403
        assert alice.post("/admin/users", data={"name": "eve", "password": "long password 1", "role": "admin"}
                          ).status_code == 403
        assert "/admin/users" not in alice.get("/").text
    with logged_in(server, "zoe") as zoe:
        assert zoe.get("/api/status").json()["jobs"] == []  # not her meeting
    with logged_in(server, USER) as claire:
        status = claire.get("/api/status").json()
        assert status["incidents"][0]["detail"].startswith(f"see {home}")
        assert status["stats"]["incidents_this_week"] == 1 and status["stats"]["free_bytes"] > 0
        assert claire.get("/admin/users").status_code == 200


def test_the_admin_manages_users_on_the_web(server):
    with logged_in(server, USER) as claire:
        page = claire.get("/admin/users")
        assert page.status_code == 200 and "mallory@example.org" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        added = claire.post("/admin/users", data={"csrf_token": token, "name": "bob", "email": "bob@example.org",
                                                  "role": "member", "password": "bob's password"})
        assert added.status_code == 303 and "Added bob" in claire.get("/admin/users").text
        with logged_in(server, "bob", "bob's password") as bob:  # invited to EN as bob@example.org, and he spoke in it
            assert {c["id"] for c in bob.get("/api/meetings").json()} == {EN_ID}
            claire.post("/admin/users/bob", data={"csrf_token": token, "action": "disable"})
            assert bob.get("/api/meetings").status_code == 401  # disabled: his session ended at once
        assert client_login_status(server, "bob", "bob's password") == 401
        claire.post("/admin/users/bob", data={"csrf_token": token, "action": "enable"})
        claire.post("/admin/users/bob", data={"csrf_token": token, "action": "password", "password": "new password 2"})
        assert client_login_status(server, "bob", "bob's password") == 401
        assert client_login_status(server, "bob", "new password 2") == 303
        bad = claire.post("/admin/users", data={"csrf_token": token, "name": "eve", "email": "eve@exa mple.org",
                                                "role": "member", "password": "long enough 1"})
        assert bad.status_code == 303 and "is not an email address" in claire.get("/admin/users").text
        claire.post("/admin/users/bob", data={"csrf_token": token, "action": "role", "role": "admin"})
        with logged_in(server, "bob", "new password 2") as bob:
            assert {c["id"] for c in bob.get("/api/meetings").json()} == set(ALL)
        selfish = claire.post(f"/admin/users/{USER}", data={"csrf_token": token, "action": "disable"})
        assert selfish.status_code == 303 and "cannot disable yourself" in claire.get("/admin/users").text


def client_login_status(server, user: str, password: str) -> int:
    with client(server) as http:
        return login(http, user=user, password=password).status_code


def test_every_meeting_route_hides_a_meeting_from_a_member(team):
    """Walk every route of the app that names a meeting: for a member who may not see it, each answers
    404 (403 for the admin's pages), so a new route cannot forget the rule without this test failing."""
    from test_web_security import _requests

    home, env = team
    with app_client(home, **env) as http:
        login(http, user="mallory")
        token = http.get("/api/session").json()["csrf_token"]
        walked = 0
        for method, path in _requests(http.app):
            if EN_ID not in path:
                continue
            body = {"old": "Bob", "new": "Alice", "enroll": True, "user": "mallory"}
            answer = http.request(method, path, headers={"X-CSRF-Token": token, "Accept": "application/json"},
                                  **({"json": body} if path.startswith("/api/") else {"data": body}))
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text[:200])
            walked += 1
        assert walked >= 11
    with app_client(home, **env) as http:
        login(http, user=USER)
        assert http.get(f"/api/meetings/{EN_ID}").status_code == 200
