"""Who may use the web pages and the API, and how a login is kept.

- Passwords are hashed with argon2id (argon2-cffi); the archive's ``users``
  table keeps only the hash. ``web.password`` in the settings is a shared
  password for the user name ``admin`` (hashed when the server starts; a
  ``voicebot users add admin`` user takes precedence).
- A login is a server-side session (``voicebot.archive.sessions``): the
  browser's cookie holds its random secret, signed (itsdangerous, HMAC-SHA256
  with the secret ``web.secret`` or one generated once into
  ``<home>/web-secret``, mode 0600) with the CSRF token every state-changing
  request must send back. It ends at logout, after ``web.session_hours``, when
  the password changes, or when the user is disabled or removed.
- API tokens (``voicebot users token NAME``) are server-side records too, for
  scripts: ``Authorization: Bearer <token>``. They need no CSRF token (a
  browser never adds them by itself), are listed (``voicebot users tokens``)
  and revoked one by one, and end with the password, the user or their expiry.
- Failed logins are throttled per (user name, client address) with growing
  delays (``LoginThrottle``): guessing slows down, the owner is not locked out.
- Users are ``admin`` or ``member`` (``voicebot.archive.access`` says what each may see).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicebot.config import Settings
from voicebot.errors import UserError

SECRET_FILE = "web-secret"
SETTINGS_USER = "admin"  # the user name that logs in with web.password
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # longer inputs are refused before hashing (argon2 would take them, slowly)
MAX_USER_NAME = 64

_hasher = None


def _password_hasher():
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB, 3 passes)
    return _hasher


# --- passwords ---------------------------------------------------------------


def check_user_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise UserError("a user needs a name")
    if len(name) > MAX_USER_NAME or any(c.isspace() or not c.isprintable() for c in name):
        raise UserError(f"a user name is one word of at most {MAX_USER_NAME} printable characters, like 'claire'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password is too long: at most {MAX_PASSWORD} characters")
    return password


def check_email(text: str) -> str:
    """A user's email address, parsed strictly (lower case), or a UserError."""
    from voicebot.mail.addresses import AddressError, strict_mailbox

    try:
        name, address = strict_mailbox(text)
    except AddressError as exc:
        raise UserError(f"{text!r} is not an email address ({exc}); write name@example.org") from None
    if name:
        raise UserError(f"give the address alone (name@example.org), not {text!r}")
    return address.lower()


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$v=19$m=65536,t=3,p=4$...``) of a password."""
    return _password_hasher().hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if not password or len(password) > MAX_PASSWORD:
        return False
    try:
        return _password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    """Spend as long as a real check, so an unknown user name answers as slowly as a known one."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _password_hasher().hash(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password or "x")


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash, kept in sessions and tokens: a new password ends them."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:24]


# --- the signing secret --------------------------------------------------------


def load_secret(settings: Settings) -> bytes:
    """``web.secret``, or the secret in ``<home>/web-secret`` (created once, mode 0600)."""
    if settings.web.secret:
        if len(settings.web.secret) < 16:
            raise UserError("web.secret is too short: use at least 16 random characters, or leave it empty "
                            "to have one generated under the home folder")
        return settings.web.secret.encode("utf-8")
    path = settings.home / SECRET_FILE
    if not path.exists():
        _create_secret(path)
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, 0o600)  # readable by others: the key would let them forge a login
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the web secret {path}: {exc}; fix its permissions or delete it "
                        "(a new one is made, and everyone logs in again)") from None
    if len(value) < 32:
        raise UserError(f"the web secret {path} is damaged (too short); delete it and a new one is made")
    return value.encode("ascii")


def _create_secret(path: Path) -> None:
    """Write a new random secret, 0600 from the start; two servers starting at once agree on one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs is kept
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


# --- the signed cookie ------------------------------------------------------------------


class Signer:
    """Signs and checks the session cookie's small JSON value with the secret."""

    def __init__(self, secret: bytes) -> None:
        from itsdangerous import URLSafeSerializer

        self._session = URLSafeSerializer(secret, salt="voicebot.session")

    def dump_session(self, data: dict[str, Any]) -> str:
        return self._session.dumps(data)

    def load_session(self, text: str | None) -> dict[str, Any] | None:
        return _checked(self._session, text, 4096)


def _checked(serializer, text: str | None, limit: int) -> dict[str, Any] | None:
    """The dict a signed text holds, or None when it is missing, too long, forged or not a dict."""
    from itsdangerous import BadSignature

    if not text or len(text) > limit:
        return None
    try:
        data = serializer.loads(text)
    except (BadSignature, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Session:
    """The signed cookie of one browser: the secret of its server-side login (``s``), its CSRF token
    (``c``) and one-time messages (``m``). ``modified`` sessions are sent back as a new cookie."""

    data: dict[str, Any] = field(default_factory=dict)
    modified: bool = False

    @property
    def secret(self) -> str | None:
        value = self.data.get("s")
        return value if isinstance(value, str) else None

    @property
    def csrf_token(self) -> str:
        if not self.data.get("c"):
            self.data["c"] = secrets.token_urlsafe(32)
            self.modified = True
        return self.data["c"]

    def csrf_ok(self, sent: str | None) -> bool:
        token = self.data.get("c")
        return bool(token and sent) and hmac.compare_digest(str(token), str(sent))

    def login(self, secret: str) -> None:
        """A fresh session for a new login: a new CSRF token (none from before the login is kept)."""
        self.data = {"s": secret, "c": secrets.token_urlsafe(32)}
        self.modified = True

    def logout(self) -> None:
        self.data = {}
        self.modified = True

    def flash(self, message: str, kind: str = "ok") -> None:
        """A message shown once, on the next page."""
        self.data.setdefault("m", []).append([kind, message[:500]])
        self.modified = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        messages = self.data.pop("m", [])
        if messages:
            self.modified = True
        return [(str(k), str(m)) for k, m in messages]


# --- users ---------------------------------------------------------------------------------


@dataclass
class User:
    name: str
    print: str  # fingerprint of the password (hash): a new password ends sessions and tokens
    email: str | None = None
    role: str = "member"

    @property
    def viewer(self):
        """Who the archive's access rule sees (voicebot.archive.access.Viewer)."""
        from voicebot.archive.access import Viewer

        return Viewer(self.name, self.email, self.role)

    @property
    def admin(self) -> bool:
        return self.role == "admin"


class Users:
    """Finds users, checks their passwords, and keeps their logins: the archive's users table,
    then ``web.password`` (the user ``admin``, an admin); logins are rows of the archive's
    sessions table (``voicebot.archive.sessions``)."""

    def __init__(self, settings: Settings, secret: bytes) -> None:
        self.settings = settings
        self.signer = Signer(secret)
        self._settings_hash = self._settings_print = None
        if settings.web.password:
            try:
                self._settings_hash = hash_password(settings.web.password)
            except UserError as exc:
                raise UserError(f"web.password (VOICEBOT_WEB_PASSWORD): {exc}") from None
            # the hash is salted anew at each start; sessions and tokens need a print that stays the same
            # while the password does (and that reveals nothing of it without the secret)
            self._settings_print = hmac.new(secret, b"web.password\0" + settings.web.password.encode("utf-8"),
                                            hashlib.sha256).hexdigest()[:24]

    def _open(self):
        from voicebot.archive import open_archive

        return open_archive(self.settings)

    def any_login(self) -> bool:
        """Can anybody log in at all (a user in the archive, or web.password)?"""
        if self._settings_hash:
            return True
        with self._open() as db:
            return any(not row["disabled_at"] for row in db.list_users())

    def _account(self, db, name: str) -> tuple[str, User] | None:
        """(password hash, the user) of a name that may log in: the archive's users first, then
        web.password's admin. None for an unknown or disabled user."""
        row = db.get_user(name)
        if row:
            if row.get("disabled_at"):
                return None
            return row["password_hash"], User(name, fingerprint(row["password_hash"]), row.get("email"),
                                              row.get("role") or "member")
        if name == SETTINGS_USER and self._settings_hash:
            return self._settings_hash, User(name, self._settings_print, None, "admin")  # type: ignore[arg-type]
        return None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, when the password is right; None otherwise (as slowly either way)."""
        name = (name or "").strip()
        stored = None
        if name and len(name) <= MAX_USER_NAME and name.isprintable():  # never a user with a control character
            with self._open() as db:
                stored = self._account(db, name)
        if stored is None:
            burn_time(password)
            return None
        if not verify_password(stored[0], password):
            return None
        return stored[1]

    def _live(self, secret: str | None, kind: str) -> User | None:
        """The user a session cookie's or an API token's secret logs in, while its record is live and
        the user still exists, is not disabled, and has the same password."""
        if not secret:
            return None
        with self._open() as db:
            row = db.get_session(secret, kind)
            stored = self._account(db, row["user_name"]) if row else None
        if stored is None or not hmac.compare_digest(stored[1].print, str(row["print"])):  # type: ignore[index]
            return None
        return stored[1]

    def start_session(self, user: User) -> str:
        """A new server-side session for a user who just logged in; the secret for their cookie."""
        from datetime import timedelta

        from voicebot.archive.sessions import SESSION

        with self._open() as db:
            return db.add_session(user.name, SESSION, user.print, timedelta(hours=self.settings.web.session_hours))

    def end_session(self, secret: str | None) -> None:
        if secret:
            with self._open() as db:
                db.revoke_session(secret)

    def from_session(self, session: Session) -> User | None:
        from voicebot.archive.sessions import SESSION

        return self._live(session.secret, SESSION)

    def from_token(self, token: str) -> User | None:
        from voicebot.archive.sessions import TOKEN

        return self._live(token, TOKEN)

    def make_token(self, name: str, days: float, label: str = "") -> tuple[str, float]:
        """A new API token for an existing user, valid ``days``; (token, expiry as a UNIX time).
        ``voicebot users tokens`` lists it, ``voicebot users revoke-token`` ends it."""
        from datetime import timedelta

        from voicebot.archive.sessions import TOKEN

        if not days or days <= 0 or days > 3660:
            raise UserError("a token lasts a positive number of days, ten years at most")
        with self._open() as db:
            stored = self._account(db, name)
            if stored is None:
                raise UserError(f"no web user {name!r} who may log in; `voicebot users list` shows them")
            token = db.add_session(name, TOKEN, stored[1].print, timedelta(days=days), label=label)
        return token, time.time() + days * 86400


# --- login throttling ---------------------------------------------------------------------


class LoginThrottle:
    """Failed logins per (user name, client address), with growing delays.

    The first ``free`` failures of a pair cost nothing; after that each attempt of that pair must
    wait twice as long as the last (1 s, 2 s, 4 s... at most ``max_delay``), counted from the
    last failure. Guessing one user's password from one address slows to a crawl, while the
    user, from their own address, is never locked out; a success clears the pair. A pair
    whose last failure is older than ``forget_after`` starts afresh. Memory stays bounded."""

    def __init__(self, free: int = 3, max_delay: float = 300.0, forget_after: float = 3600.0,
                 max_keys: int = 10000) -> None:
        self.free, self.max_delay, self.forget_after, self.max_keys = free, max_delay, forget_after, max_keys
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(user: str, address: str) -> tuple[str, str]:
        return (user or "").strip().casefold()[:MAX_USER_NAME + 1], address or "unknown"

    def retry_after(self, user: str, address: str, now: float | None = None) -> float:
        """Seconds until this user may be tried again from this address (0: now)."""
        now = time.time() if now is None else now
        with self._lock:
            count, last = self._failures.get(self._key(user, address), (0, 0.0))
        if count < self.free or now - last > self.forget_after:
            return 0.0
        delay = min(2.0 ** (count - self.free), self.max_delay)
        return max(0.0, last + delay - now)

    def failed(self, user: str, address: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = self._key(user, address)
        with self._lock:
            if key not in self._failures and len(self._failures) >= self.max_keys:
                for old in sorted(self._failures, key=lambda k: self._failures[k][1])[: self.max_keys // 10]:
                    del self._failures[old]
            count, last = self._failures.get(key, (0, now))
            self._failures[key] = (1 if now - last > self.forget_after else count + 1, now)

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._key(user, address), None)
