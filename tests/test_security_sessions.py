"""Logins that end (issue 17), through a real ``voicebot serve`` over HTTP, on SQLite and PostgreSQL.

Before: sessions were signed cookies and nothing else, so a cookie copied before logging out still
worked for 12 hours; API tokens could be neither listed nor revoked. Now a login is a server-side
record: logout, a new password, or a disabled user ends it, and tokens are listed and revoked."""

from __future__ import annotations

from security_helpers import logged_in
from web_helpers import EN_ID, clean_env, client, login, settings_of

from tests.conftest import run_cli
from voicebot.archive import open_archive


def _with_cookie(server, cookie: str) -> int:
    with client(server) as http:
        http.cookies.set("voicebot_session", cookie)
        return http.get(f"/api/meetings/{EN_ID}").status_code


def test_a_cookie_copied_before_logout_stops_working(server):
    with logged_in(server, "alice") as alice:
        copied = alice.cookies["voicebot_session"]
        assert _with_cookie(server, copied) == 200
        assert alice.post("/logout").status_code == 303
    assert _with_cookie(server, copied) == 401


def test_a_new_password_or_a_disabled_user_ends_every_session(server, team):
    home, env = team
    cli = clean_env(home, **env)
    with logged_in(server, "alice") as first, logged_in(server, "alice") as second:
        assert first.get("/api/meetings").status_code == 200
        changed = run_cli("users", "add", "alice", "--replace", "--password-stdin", input="a new password\n", env=cli)
        assert changed.returncode == 0, changed.stderr
        assert first.get("/api/meetings").status_code == 401 and second.get("/api/meetings").status_code == 401
    with logged_in(server, "carol") as carol:
        disabled = run_cli("users", "set", "carol", "--disable", env=cli)
        assert disabled.returncode == 0, disabled.stderr
        assert carol.get("/api/meetings").status_code == 401
    with client(server) as http:  # and she cannot log in again until enabled
        assert login(http, user="carol").status_code == 401
        assert run_cli("users", "set", "carol", "--enable", env=cli).returncode == 0
        assert login(http, user="carol").status_code == 303


def test_api_tokens_are_listed_and_revoked(server, team):
    home, env = team
    cli = clean_env(home, **env)
    made = run_cli("users", "token", "alice", "--days", "1", "--label", "backup script", env=cli)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    other = run_cli("users", "token", "zoe", env=cli).stdout.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    with client(server) as http:
        assert http.get(f"/api/meetings/{EN_ID}", headers=bearer).status_code == 200
        mine = http.get("/api/tokens", headers=bearer).json()
        assert [(t["user_name"], t["label"], t["live"]) for t in mine] == [("alice", "backup script", True)]
        assert token not in http.get("/api/tokens", headers=bearer).text  # ids, never the tokens
        # she cannot revoke zoe's token (it is not hers: not found), zoe's still works
        listed = run_cli("users", "tokens", env=cli)
        assert listed.returncode == 0 and "backup script" in listed.stdout and token not in listed.stdout
        with open_archive(settings_of(home, **env)) as db:
            zoe_token_id = db.list_tokens("zoe")[0]["token_id"]
        assert zoe_token_id in listed.stdout
        refused = http.post(f"/api/tokens/{zoe_token_id}/revoke", headers=bearer)
        assert refused.status_code == 400
        assert http.get("/api/session", headers={"Authorization": f"Bearer {other}"}).status_code == 200
        # revoked from the command line, it ends at once
        revoked = run_cli("users", "revoke-token", mine[0]["token_id"], env=cli)
        assert revoked.returncode == 0 and "Revoked" in revoked.stdout, revoked.stderr
        assert http.get("/api/session", headers=bearer).status_code == 401
        # and from the API, by its owner
        again = http.post(f"/api/tokens/{zoe_token_id}/revoke", headers={"Authorization": f"Bearer {other}"})
        assert again.status_code == 200 and again.json()["live"] is False
        assert http.get("/api/session", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    bad = run_cli("users", "revoke-token", "nothex!", env=cli)
    assert bad.returncode == 2 and "not a token id" in bad.stderr and "Traceback" not in bad.stderr
