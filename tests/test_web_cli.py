"""`voicebot users ...` and `voicebot serve`, run as a user runs them (subprocesses), the
server reached over real HTTP and HTTPS."""

from __future__ import annotations

import socket

import httpx
import pytest
from web_helpers import EN_ID, USER, Server, clean_env, client, login

from tests.conftest import run_cli


def test_users_add_list_remove(home):
    added = run_cli("users", "add", "claire", "--password-stdin", input="s3cret password\n")
    assert added.returncode == 0, added.stderr
    assert "Added user claire" in added.stdout and "s3cret" not in added.stdout + added.stderr
    again = run_cli("users", "add", "claire", "--password-stdin", input="another password\n")
    assert again.returncode == 2 and "already exists" in again.stderr and "--replace" in again.stderr
    assert "Traceback" not in again.stderr
    listed = run_cli("users", "list")
    assert listed.returncode == 0 and "claire" in listed.stdout
    short = run_cli("users", "add", "bob", "--password-stdin", input="short\n")
    assert short.returncode == 2 and "too short" in short.stderr
    spaced = run_cli("users", "add", "bob smith", "--password-stdin", input="long enough password\n")
    assert spaced.returncode == 2 and "one word" in spaced.stderr
    no_tty = run_cli("users", "add", "bob", input="")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    replaced = run_cli("users", "add", "claire", "--replace", "--password-stdin", input="a new password\n")
    assert replaced.returncode == 0 and "Changed the password" in replaced.stdout
    from voicebot.archive import open_archive
    from voicebot.cli.app import settings
    from voicebot.web.auth import verify_password

    with open_archive(settings()) as db:
        stored = db.get_user("claire")["password_hash"]
    assert stored.startswith("$argon2id$") and verify_password(stored, "a new password")
    gone = run_cli("users", "remove", "claire")
    assert gone.returncode == 0 and "Removed user claire" in gone.stdout
    missing = run_cli("users", "remove", "claire")
    assert missing.returncode == 2 and "no user 'claire'" in missing.stderr
    empty = run_cli("users", "list")
    assert empty.returncode == 0 and "No web user yet" in empty.stderr
    for args, role in ((["dana", "--email", "dana@example.org", "--admin"], "admin"),
                       (["eric", "--email", "eric@example.org"], "member")):
        done = run_cli("users", "add", *args, "--password-stdin", input="long enough password\n")
        assert done.returncode == 0, done.stderr
        with open_archive(settings()) as db:
            user = db.get_user(args[0])
        assert (user["email"], user["role"]) == (args[2], role), user


def test_users_token(web_home):
    from web_helpers import app_client

    env = clean_env(web_home)
    made = run_cli("users", "token", USER, "--days", "2", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert "valid until" in made.stderr and len(token) > 40 and "\n" not in token
    with app_client(web_home) as http:
        answer = http.get("/api/session", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json() == {"user": USER, "role": "admin", "csrf_token": None}
    unknown = run_cli("users", "token", "nobody", env=env)
    assert unknown.returncode == 2 and "no web user 'nobody'" in unknown.stderr


def test_serve_refuses_when_nobody_can_log_in(home):
    result = run_cli("serve", "--port", "1")
    assert result.returncode == 2 and "nobody can log in yet" in result.stderr and "users add" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_serve_over_http(web_home):
    server = Server(web_home)
    try:
        with client(server) as http:
            assert http.get("/api/meetings").status_code == 401
            assert http.get("/", headers={"Accept": "text/html"}).headers["location"] == "/login"
            done = login(http)
            assert done.status_code == 303 and "Secure" not in done.headers["set-cookie"]
            page = http.get(f"/meetings/{EN_ID}")
            assert page.status_code == 200 and "Website launch weekly meeting" in page.text
            assert "server" not in page.headers  # uvicorn's banner is off
            part = http.get(f"/meetings/{EN_ID}/audio", headers={"Range": "bytes=0-3"})
            assert part.status_code == 206 and part.content == b"fLaC"
        # the port is taken now: a second server says so in one line
        taken = run_cli("serve", "--port", str(server.port), env=clean_env(web_home))
        assert taken.returncode == 2 and f"cannot listen on 127.0.0.1:{server.port}" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        server.stop()
    # a graceful stop (uvicorn re-raises the SIGTERM it handled, as a terminated process should)
    assert server.process.returncode in (0, -15) and "Traceback" not in server.log.read_text()


@pytest.mark.slow
def test_serve_over_https_sets_secure_cookies(web_home, tmp_path):
    from tests.test_mail_delivery import _certificate

    cert, key = _certificate(tmp_path)
    server = Server(web_home, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), https=True)
    try:
        with client(server, verify=str(cert)) as http:
            form = http.get("/login")
            assert "Secure" in form.headers["set-cookie"]
            done = login(http)
            assert done.status_code == 303
            cookie = done.headers["set-cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert http.get("/api/meetings").status_code == 200
        with pytest.raises(httpx.HTTPError):  # plain http on the https port gets nothing
            httpx.get(f"http://127.0.0.1:{server.port}/login", timeout=10)
    finally:
        server.stop()
    half = run_cli("serve", "--ssl-certfile", str(cert), env=clean_env(web_home))
    assert half.returncode == 2 and "both --ssl-certfile and --ssl-keyfile" in half.stderr


def _outside_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.mark.slow
def test_serve_binds_to_localhost_only_by_default(web_home):
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no address besides loopback to test from")
    server = Server(web_home)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
        with pytest.raises(OSError):
            socket.create_connection((outside, server.port), timeout=5).close()
    finally:
        server.stop()


def test_the_listening_socket_says_it_is_tcp():
    """asyncio turns Nagle's algorithm off only on sockets whose protocol is TCP; a socket made
    without it made every keep-alive answer wait ~40 ms for the client's delayed ACK (bench/web.py)."""
    from voicebot.cli.web import _listen

    sock = _listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    from voicebot.errors import UserError

    with pytest.raises(UserError, match="cannot listen on"):
        _listen("no-such-host.invalid", 8000)


def _in_terminal(args: list[str], answers: list[str], env: dict, timeout: float = 60) -> tuple[int, str]:
    """Run ``voicebot ARGS`` with a pseudo-terminal as its controlling terminal (getpass reads
    /dev/tty), typing each answer after the next prompt appears; (exit code, what it showed)."""
    import fcntl
    import os
    import re
    import select
    import subprocess
    import sys
    import termios
    import time

    master, slave = os.openpty()

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen([sys.executable, "-m", "voicebot", *args], stdin=slave, stdout=slave, stderr=slave,
                               env=env, start_new_session=True, preexec_fn=take_terminal, close_fds=True)
    os.close(slave)
    shown, pending, deadline = b"", list(answers), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the program ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            # click shows "Password:", then getpass turns echo off (dropping what was typed) and shows " "
            asked = len(re.findall(rb"(?:Password|Repeat for confirmation): ", shown))
            while pending and asked > len(answers) - len(pending):  # one answer per prompt shown
                os.write(master, pending.pop(0).encode() + b"\n")
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(master)
    return process.returncode, shown.decode(errors="replace")


def test_users_add_asks_the_password_twice(home):
    import os

    env = {**os.environ}
    code, shown = _in_terminal(["users", "add", "zoe"], ["first try 123", "first try 124",
                                                         "zoé's password", "zoé's password"], env)
    assert code == 0, shown
    assert shown.count("Password:") == 2 and "Repeat for confirmation:" in shown
    assert "do not match" in shown.lower() and "Added user zoe" in shown
    assert "zoé's password" not in shown  # never echoed
    from voicebot.archive import open_archive
    from voicebot.cli.app import settings
    from voicebot.web.auth import verify_password

    with open_archive(settings()) as db:
        assert verify_password(db.get_user("zoe")["password_hash"], "zoé's password")
