"""`voicebot serve` (the web pages and API) and `voicebot users add|list|remove|token` (who may log in)."""

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
from voicebot.errors import UserError

users_app = sub_app("users", "Who may log in to the web pages and the API (`voicebot serve`).")


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
    config = uvicorn.Config(web, log_level="warning", ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                            server_header=False, proxy_headers=True)
    uvicorn.Server(config).run(sockets=[sock])


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
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of standard input instead of asking twice."),
    replace: bool = typer.Option(False, "--replace", help="The user exists already: give them this new password (their open sessions end)."),
) -> None:
    """Add a web user (the password is asked twice, and only its argon2 hash is stored)."""
    from voicebot.web.auth import check_password, check_user_name, hash_password

    name = check_user_name(name)
    with _open() as db:
        exists = db.get_user(name) is not None
    if exists and not replace:
        raise UserError(f"user {name!r} already exists; add --replace to change their password")
    if replace and not exists:
        raise UserError(f"no user {name!r} to replace; leave out --replace to add them")
    password_hash = hash_password(check_password(_read_password(password_stdin)))
    with _open() as db:
        db.add_user(name, password_hash, replace=replace)
    console.print(f"{'Changed the password of' if replace else 'Added'} user {escape(name)}; "
                  "log in at the address `voicebot serve` shows.", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """List the web users (names and dates; passwords are never shown, only their hashes are kept)."""
    with _open() as db:
        rows = db.list_users()
    if not rows:
        err_console.print("No web user yet: `voicebot users add NAME`"
                          + (" (the shared password web.password logs in as 'admin')." if settings().web.password else "."))
        return
    table = Table("name", "added", "password changed")
    for row in rows:
        table.add_row(escape(row["name"]), (row["created_at"] or "")[:16].replace("T", " "),
                      (row["updated_at"] or "")[:16].replace("T", " "))
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
    days: float = typer.Option(30.0, "--days", min=0.01, help="How long the token is valid."),
) -> None:
    """Print an API token for scripts: send it as `Authorization: Bearer TOKEN` (ends with the user's password)."""
    from voicebot.web.auth import Users, load_secret

    conf = settings()
    token, expires = Users(conf, load_secret(conf)).make_token(name, days)
    until = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    err_console.print(f"API token for {escape(name)}, valid until {until}:", highlight=False)
    typer.echo(token)
