"""Who may use the web pages and the API, and how a login is kept.

- Passwords are hashed with argon2id (argon2-cffi); the archive's ``users``
  table keeps only the hash. ``web.password`` in the settings is a shared
  password for the user name ``admin`` (hashed when the server starts; a
  ``voicebot users add admin`` user takes precedence).
- A login is a session in a signed cookie (itsdangerous, HMAC-SHA256 with the
  secret ``web.secret`` or one generated once into ``<home>/web-secret``,
  mode 0600). The cookie carries the user name, a fingerprint of their
  password hash (changing the password or removing the user ends their
  sessions), the login time (sessions last ``web.session_hours``), and the
  CSRF token every state-changing request must send back.
- API tokens (``voicebot users token NAME``) are signed the same way, for
  scripts: ``Authorization: Bearer <token>``. They need no CSRF token (a
  browser never adds them by itself) and end with the password, the user or
  their expiry date.
- Failed logins are counted per user name and per client address; past the
  limit, logins are refused for a while (HTTP 429) even with the right password.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
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


# --- signed values: sessions and API tokens -------------------------------------------


class Signer:
    """Signs and checks small JSON values with the secret (one salt per use)."""

    def __init__(self, secret: bytes) -> None:
        from itsdangerous import URLSafeSerializer

        self._session = URLSafeSerializer(secret, salt="voicebot.session")
        self._token = URLSafeSerializer(secret, salt="voicebot.api-token")

    def dump_session(self, data: dict[str, Any]) -> str:
        return self._session.dumps(data)

    def load_session(self, text: str | None) -> dict[str, Any] | None:
        return _checked(self._session, text, 4096)

    def dump_token(self, name: str, print_: str, expires: float) -> str:
        return self._token.dumps({"u": name, "f": print_, "x": int(expires)})

    def load_token(self, text: str) -> dict[str, Any] | None:
        data = _checked(self._token, text, 2048)
        if data is None or not isinstance(data.get("x"), int) or data["x"] < time.time():
            return None
        return data


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
    """The signed-cookie session of one browser. ``modified`` sessions are sent back as a new cookie."""

    data: dict[str, Any] = field(default_factory=dict)
    modified: bool = False

    @property
    def user(self) -> str | None:
        return self.data.get("u")

    @property
    def csrf_token(self) -> str:
        if not self.data.get("c"):
            self.data["c"] = secrets.token_urlsafe(32)
            self.modified = True
        return self.data["c"]

    def csrf_ok(self, sent: str | None) -> bool:
        token = self.data.get("c")
        return bool(token and sent) and hmac.compare_digest(str(token), str(sent))

    def login(self, name: str, print_: str) -> None:
        """A fresh session for this user: a new CSRF token (none from before the login is kept)."""
        self.data = {"u": name, "f": print_, "t": int(time.time()), "c": secrets.token_urlsafe(32)}
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


class Users:
    """Finds users and checks their passwords: the archive's users table, then ``web.password``."""

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
            return bool(db.list_users())

    def _password_of(self, name: str) -> tuple[str, str] | None:
        """(password hash, its print) of a user: the archive's users first, then web.password's admin."""
        with self._open() as db:
            row = db.get_user(name)
        if row:
            return row["password_hash"], fingerprint(row["password_hash"])
        if name == SETTINGS_USER and self._settings_hash:
            return self._settings_hash, self._settings_print  # type: ignore[return-value]
        return None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, when the password is right; None otherwise (as slowly either way)."""
        name = (name or "").strip()
        stored = self._password_of(name) if name and len(name) <= MAX_USER_NAME else None
        if stored is None:
            burn_time(password)
            return None
        if not verify_password(stored[0], password):
            return None
        return User(name, stored[1])

    def current(self, name: str | None, print_: str | None) -> User | None:
        """The user a session or token names, if they still exist with the same password."""
        if not name or not print_:
            return None
        stored = self._password_of(name)
        if stored is None or not hmac.compare_digest(stored[1], str(print_)):
            return None
        return User(name, print_)

    def from_session(self, session: Session) -> User | None:
        started = session.data.get("t")
        if not isinstance(started, int) or time.time() - started > self.settings.web.session_hours * 3600:
            return None
        return self.current(session.user, session.data.get("f"))

    def from_token(self, token: str) -> User | None:
        data = self.signer.load_token(token)
        return self.current(data.get("u"), data.get("f")) if data else None

    def make_token(self, name: str, days: float) -> tuple[str, float]:
        """An API token for an existing user, valid ``days``; (token, expiry as a UNIX time)."""
        stored = self._password_of(name)
        if stored is None:
            raise UserError(f"no web user {name!r}; `voicebot users list` shows them")
        if days <= 0:
            raise UserError("a token must last a positive number of days")
        expires = time.time() + days * 86400
        return self.signer.dump_token(name, stored[1], expires), expires


# --- login rate limiting ----------------------------------------------------------------


class LoginLimiter:
    """Failed logins per key (a user name, a client address) in a sliding window.

    A key with ``limit`` failures in the last ``window`` seconds is blocked until
    the oldest of them leaves the window. Memory stays bounded (``max_keys``)."""

    def __init__(self, limit: int = 5, window: float = 900.0, max_keys: int = 10000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            self._failures.pop(key, None)
        return stamps

    def retry_after(self, *keys: str, now: float | None = None) -> float:
        """Seconds until a login may be tried for these keys (0: now)."""
        now = time.time() if now is None else now
        wait = 0.0
        with self._lock:
            for key in keys:
                stamps = self._recent(key, now)
                if len(stamps) >= self.limit:
                    wait = max(wait, stamps[len(stamps) - self.limit] + self.window - now)
        return wait

    def failed(self, *keys: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            if len(self._failures) >= self.max_keys:  # forget the keys whose last failure is oldest
                for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[: self.max_keys // 10]:
                    del self._failures[key]
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
