"""Login throttling that stops guessing without locking out the owner (issue 17), through a real
``voicebot serve`` over HTTP.

Before: five wrong passwords for alice made her right password answer 429 for 15 minutes; twenty
failures from one address locked out everyone there; and X-Forwarded-For was believed from anyone,
so a new address on each attempt was never limited. Now failures are counted per (user, address)
with growing delays, and proxy headers count only from ``web.trusted_proxies``."""

from __future__ import annotations

import time

from web_helpers import USER, Server, client, login


def _login_from(server, address: str | None, user: str, password: str = "correct horse battery"):
    with client(server) as http:
        if address:
            http.headers["X-Forwarded-For"] = address
        return login(http, user=user, password=password)


def test_guessing_slows_down_and_the_owner_still_logs_in(team):
    home, env = team
    server = Server(home, env={**env, "VOICEBOT_WEB_TRUSTED_PROXIES": "127.0.0.1"})  # as behind a local proxy
    try:
        attacker, owner = "203.0.113.7", "198.51.100.20"
        answers = [_login_from(server, attacker, "alice", "guess number one").status_code for _ in range(6)]
        assert answers[:3] == [401, 401, 401] and 429 in answers[3:]
        slowed = _login_from(server, attacker, "alice")  # even the right password waits, from there
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) <= 300
        assert _login_from(server, owner, "alice").status_code == 303  # alice, from her own machine: at once
        for n in range(20):  # many names tried from one address lock nobody else out there
            _login_from(server, attacker, f"user{n}", "guess guess")
        assert _login_from(server, attacker, USER).status_code == 303
        time.sleep(int(slowed.headers["retry-after"]) + 0.5)
        assert _login_from(server, attacker, "alice").status_code == 303  # a delay, not a 15-minute block
    finally:
        server.stop()


def test_forwarded_addresses_count_only_from_trusted_proxies(server):
    """Without web.trusted_proxies, X-Forwarded-For is ignored: a new made-up address on each try
    changes nothing."""
    answers = [_login_from(server, f"198.51.100.{n}", "alice", "guess guess").status_code for n in range(6)]
    assert answers[:3] == [401, 401, 401] and answers[3:].count(429) >= 2, answers
    with client(server) as http:
        http.headers["X-Forwarded-For"] = "203.0.113.9"
        assert login(http, user=USER).status_code == 303
        assert http.get("/api/session").json()["user"] == USER
