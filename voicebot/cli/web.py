"""`voicebot serve` (the web pages and API) and `voicebot users add|set|list|remove|token|tokens|revoke-token`
(who may log in, with which role), `voicebot meetings share|unshare` (who else may see a meeting)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from voicebot.cli.app import app, console, err_console, settings, sub_app
from voicebot.cli.archive import _when, meetings_app
from voicebot.errors import UserError

users_app = sub_app("users", "Who may log in to the web pages and the API (`voicebot serve`), as admin or member.")


def _open():
    from voicebot.archive import open_archive

    return open_archive(settings())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on. Default: the setting web.host (127.0.0.1: this machine only)."),
    port: int = typer.Option(None, "--port", "-p", min=1, max=65535, help="Port to listen on. Default: the setting web.port (8000)."),
    ssl_certfile: str = typer.Option(None, "--ssl-certfile", help="Serve over https with this certificate (PEM); cookies are then Secure."),
    ssl_keyfile: str = typer.Option(None, "--ssl-keyfile", help="The private key of --ssl-certfile (PEM)."),
) -> None:
    """Serve the dashboard, meeting pages (minutes, transcript, audio), search and the JSON API."""
    import uvicorn

    from voicebot.web.app import create_app

    conf = settings()
    host = host or conf.web.host
    port = port or conf.web.port
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise UserError("give both --ssl-certfile and --ssl-keyfile, or neither")
    for option, path in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile)):
        if path and not Path(path).is_file():
            raise UserError(f"{option} {path}: no such file")
    web = create_app(conf)
    if not web.state.users.any_login():
        raise UserError("nobody can log in yet: add a user with `voicebot users add NAME` "
                        "(or set a shared password in web.password / VOICEBOT_WEB_PASSWORD)")
    sock = _listen(host, port)
    scheme = "https" if ssl_certfile else "http"
    shown = f"[{host}]" if ":" in host else host
    archive = "PostgreSQL" if conf.database.url else str(conf.database_path)
    console.print(f"voicebot web on {scheme}://{shown}:{port}/  (archive: {escape(archive)}; Ctrl-C stops)",
                  highlight=False)
    if not _is_loopback(host):
        err_console.print(f"warning: listening on {escape(host)}, other machines can reach this server; "
                          "serve it over https (--ssl-certfile/--ssl-keyfile or a reverse proxy).", highlight=False)
    proxies = _trusted_proxies(conf.web.trusted_proxies)
    # X-Forwarded-For (the client's address: login throttling) is believed only from the configured proxies
    config = uvicorn.Config(web, log_level="warning", ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                            server_header=False, proxy_headers=bool(proxies),
                            forwarded_allow_ips=",".join(proxies) if proxies else None)
    uvicorn.Server(config).run(sockets=[sock])


def _trusted_proxies(values: list[str]) -> list[str]:
    """web.trusted_proxies checked: addresses or networks (CIDR), never everyone."""
    checked = []
    for value in values:
        value = value.strip()
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise UserError(f"web.trusted_proxies: {value!r} is not an IP address or network like 127.0.0.1 "
                            "or 10.0.0.0/24") from None
        if value in ("*", "0.0.0.0/0", "::/0"):
            raise UserError("web.trusted_proxies: trusting every address would let anyone choose their address")
        checked.append(value)
    return checked


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port; a clear error when the port is taken or the address is not ours."""
    try:
        family, _, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UserError(f"cannot listen on {host}: {exc.strerror}; give an address of this machine with --host") from None
    # proto (IPPROTO_TCP) matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP;
    # without it every keep-alive answer waits ~40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
                        "(or stop the server using it)") from None
    return sock


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise UserError("standard input is not a terminal: pass the password with --password-stdin")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="The user name to log in with (one word, e.g. claire)."),
    email: str = typer.Option(None, "--email", help="Their email address: a member sees the meetings it was invited to, and those they spoke in."),
    admin: bool = typer.Option(False, "--admin", help="An admin sees every meeting and manages users; by default a member sees their own meetings."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of standard input instead of asking twice."),
    replace: bool = typer.Option(False, "--replace", help="The user exists already: give them this new password (their sessions and API tokens end)."),
) -> None:
    """Add a web user (the password is asked twice, and only its argon2 hash is stored)."""
    from voicebot.web.auth import check_email, check_password, check_user_name, hash_password

    name = check_user_name(name)
    email = check_email(email) if email is not None else None
    with _open() as db:
        exists = db.get_user(name) is not None
    if exists and not replace:
        raise UserError(f"user {name!r} already exists; add --replace to change their password")
    if replace and not exists:
        raise UserError(f"no user {name!r} to replace; leave out --replace to add them")
    password_hash = hash_password(check_password(_read_password(password_stdin)))
    with _open() as db:
        db.add_user(name, password_hash, replace=replace, email=email, role="admin" if admin else "member")
        if replace and admin:
            db.set_user(name, role="admin")
    if replace:
        console.print(f"Changed the password of user {escape(name)}; their sessions and API tokens ended.",
                      highlight=False)
        return
    role = "admin" if admin else "member"
    console.print(f"Added user {escape(name)} ({role}"
                  + (f", {escape(email)})" if email else ")" if admin else ", no email address: they see only the "
                     "meetings they organised or that were shared with them)")
                  + "; log in at the address `voicebot serve` shows.", highlight=False)


@users_app.command("set")
def users_set(
    name: str = typer.Argument(..., help="The user to change."),
    email: str = typer.Option(None, "--email", help="Their new email address ('' removes it)."),
    role: str = typer.Option(None, "--role", help="admin or member."),
    disable: bool = typer.Option(None, "--disable/--enable", help="Disable the user (their sessions and API tokens end at once), or enable them again."),
) -> None:
    """Change a web user's email address, role, or whether they may log in."""
    from voicebot.web.auth import check_email

    if email is None and role is None and disable is None:
        raise UserError("nothing to change: give --email, --role, --disable or --enable")
    with _open() as db:
        db.set_user(name, email=(check_email(email) if email.strip() else "") if email is not None else None,
                    role=role, disabled=disable)
    console.print(f"Changed user {escape(name)}.", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """List the web users: email address, role, state (passwords are never shown, only their hashes are kept)."""
    with _open() as db:
        rows = db.list_users()
    if not rows:
        err_console.print("No web user yet: `voicebot users add NAME --email E [--admin]`"
                          + (" (the shared password web.password logs in as 'admin')." if settings().web.password else "."))
        return
    table = Table("name", "email", "role", "state", "added", "changed")
    for row in rows:
        table.add_row(escape(row["name"]), escape(row["email"] or ""), row["role"],
                      "disabled" if row["disabled_at"] else "active", _when(row["created_at"]), _when(row["updated_at"]))
    console.print(table)


@users_app.command("remove")
def users_remove(
    name: str = typer.Argument(..., help="The user to remove (their open sessions and API tokens stop working)."),
) -> None:
    """Remove a web user."""
    with _open() as db:
        if not db.remove_user(name):
            raise UserError(f"no user {name!r}; `voicebot users list` shows them")
    console.print(f"Removed user {escape(name)}.", highlight=False)


@users_app.command("token")
def users_token(
    name: str = typer.Argument(..., help="The user the token acts as."),
    days: float = typer.Option(30.0, "--days", min=0.01, max=3660, help="How long the token is valid."),
    label: str = typer.Option("", "--label", help="What the token is for (shown by `voicebot users tokens`)."),
) -> None:
    """Print a new API token for scripts: send it as `Authorization: Bearer TOKEN`. It ends with its expiry,
    the user's password, `voicebot users revoke-token`, or the user being disabled."""
    from voicebot.web.auth import Users, load_secret

    conf = settings()
    token, expires = Users(conf, load_secret(conf)).make_token(name, days, label)
    until = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    err_console.print(f"API token for {escape(name)}, valid until {until}:", highlight=False)
    typer.echo(token)


@users_app.command("tokens")
def users_tokens(
    name: str = typer.Argument(None, help="Only this user's tokens."),
) -> None:
    """List API tokens (their ids, not the tokens): who, what for, until when, live or not."""
    with _open() as db:
        rows = db.list_tokens(name)
    if not rows:
        err_console.print("No API token.")
        return
    table = Table("id", "user", "label", "made", "expires", "state")
    for row in rows:
        table.add_row(row["token_id"], escape(row["user_name"]), escape(row["label"]), _when(row["created_at"]),
                      _when(row["expires_at"]), "live" if row["live"] else "revoked" if row["revoked_at"] else "expired")
    console.print(table)


@users_app.command("revoke-token")
def users_revoke_token(
    token_id: str = typer.Argument(..., help="The token's id, or its beginning (`voicebot users tokens`)."),
) -> None:
    """End an API token at once."""
    with _open() as db:
        owner = db.revoke_token(token_id)
    console.print(f"Revoked the API token {escape(token_id)} of {escape(owner)}.", highlight=False)


@meetings_app.command("share")
def meetings_share(
    meeting: str = typer.Argument(..., help="Meeting id (or the beginning of it)."),
    user: str = typer.Argument(..., help="The web user who may see it from now on."),
) -> None:
    """Let a web user see a meeting they were not invited to (members see only their meetings)."""
    with _open() as db:
        meeting_id = db.resolve_meeting(meeting)
        added = db.share_meeting(meeting_id, user, by="cli")
    console.print(f"{'Shared' if added else 'Already shared'} {meeting_id} with {escape(user)}.", highlight=False)


@meetings_app.command("unshare")
def meetings_unshare(
    meeting: str = typer.Argument(..., help="Meeting id (or the beginning of it)."),
    user: str = typer.Argument(..., help="The web user it was shared with."),
) -> None:
    """Stop sharing a meeting with a web user (they still see it if invited, a speaker or its organiser)."""
    with _open() as db:
        meeting_id = db.resolve_meeting(meeting)
        if not db.unshare_meeting(meeting_id, user):
            raise UserError(f"{meeting_id} was not shared with {user!r}")
    console.print(f"{meeting_id} is no longer shared with {escape(user)}.", highlight=False)
