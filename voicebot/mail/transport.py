"""Getting a composed message out: over SMTP, or into a local Maildir.

SMTP (``smtp.url``):

- ``smtp://[user@]host[:port][?starttls=true|false]``: plain SMTP, upgraded with
  STARTTLS when ``starttls=true`` (the default on port 587); ``smtps://`` is
  implicit TLS (port 465). Certificates are verified against the system CAs,
  or ``cafile=/path/ca.pem``; ``verify=false`` turns checking off (a local
  relay with a self-signed certificate, at your own risk).
- The password comes from ``smtp.password`` (``VOICEBOT_SMTP_PASSWORD``). It is
  never logged or put into an error message (nor is one written in the URL).
- ``smtp.timeout`` bounds every network operation.

Every failure becomes a :class:`DeliveryError` that says whether trying again
later can help: 4xx replies, refused connections, timeouts, dropped
connections and TLS or login problems are temporary; 5xx replies are
permanent and carry the server's reply.

Maildir (no ``smtp.url``): each message is written as ``<name>.eml`` into
``<home>/outbox/new/`` (fsync'd temp file, then rename), where any mail
client or ``mutt -f`` reads it. The name is derived from the Message-ID, so
writing the same message again replaces it instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from voicebot.errors import UserError
from voicebot.fsutil import atomic_write


class DeliveryError(Exception):
    """A message that did not go out. ``temporary``: trying again later may work.

    ``connection``: the failure is about the server, not this message (refused,
    TLS, login...), so the other messages would fail the same way this run."""

    def __init__(self, reply: str, *, temporary: bool, code: int | None = None, connection: bool = False):
        super().__init__(reply)
        self.reply = reply
        self.temporary = temporary
        self.code = code
        self.connection = connection


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    verify: bool = True
    cafile: str = ""

    def __repr__(self) -> str:  # never show the password, even in a debugger or a log line
        return f"SmtpConfig({self.describe()})"

    def describe(self) -> str:
        """Where mail goes, for people to read: ``smtp://alice@mail.example.org:587 (STARTTLS)``."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        tls = " (STARTTLS)" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile or None)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    if name not in query:
        return default
    value = query[name][-1].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UserError(f"smtp.url: {name}={value!r} should be true or false")


def parse_smtp_url(url: str, *, password: str = "", timeout: float = 30.0) -> SmtpConfig:
    """Read ``smtp.url``; a malformed one is a UserError that never repeats a password."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UserError(f"smtp.url is not a valid URL ({exc}); expected smtp://user@host:587?starttls=true") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise UserError(f"smtp.url must start with smtp:// or smtps:// (got {parts.scheme or 'nothing'}://); "
                        "e.g. smtp://user@mail.example.org:587?starttls=true")
    if not parts.hostname:
        raise UserError("smtp.url has no host; e.g. smtp://user@mail.example.org:587?starttls=true")
    query = parse_qs(parts.query)
    known = {"starttls", "verify", "cafile"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise UserError(f"smtp.url: unknown option {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    implicit = parts.scheme == "smtps"
    port = port or (465 if implicit else 25)
    starttls = False if implicit else _flag(query, "starttls", default=port == 587)
    return SmtpConfig(host=parts.hostname, port=port, implicit_tls=implicit, starttls=starttls,
                      username=unquote(parts.username or ""),
                      password=password or unquote(parts.password or ""),
                      timeout=timeout, verify=_flag(query, "verify", default=True),
                      cafile=query.get("cafile", [""])[-1])


def _reply_text(code: int | None, message: bytes | str | None) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else (message or "")
    text = " ".join(text.split())
    return f"{code} {text}".strip() if code else text


def _is_temporary(code: int | None) -> bool:
    return code is None or 400 <= code < 500


def classify(exc: BaseException, *, connecting: bool = False) -> DeliveryError:
    """What an smtplib/socket/TLS exception means for the message (see the module docstring).

    A failure while connecting (greeting, EHLO, TLS, login) is about the server or the
    settings, not the message: it is temporary and applies to every message of the run."""
    error = _classify(exc, connecting)
    if connecting:
        error.temporary = error.connection = True
    return error


def _classify(exc: BaseException, connecting: bool) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (None, b""))
        return DeliveryError(_reply_text(code, message), temporary=_is_temporary(code), code=code)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"login refused: {_reply_text(exc.smtp_code, exc.smtp_error)}; "
                             "check the user in smtp.url and VOICEBOT_SMTP_PASSWORD",
                             temporary=True, code=exc.smtp_code, connection=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code if exc.smtp_code and exc.smtp_code > 0 else None
        return DeliveryError(_reply_text(code, exc.smtp_error), temporary=_is_temporary(code), code=code,
                             connection=connecting)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError("the server closed the connection" + (f" ({exc})" if str(exc) else ""),
                             temporary=True, connection=connecting)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"{exc} (the address needs SMTPUTF8, which this server does not offer)",
                             temporary=False)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS failed: {exc.reason or exc}; for a self-signed certificate add "
                             "?cafile=/path/cert.pem (or ?verify=false) to smtp.url", temporary=True, connection=True)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return DeliveryError("timed out waiting for the SMTP server", temporary=True, connection=connecting)
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError("connection refused: is the SMTP server up?", temporary=True, connection=True)
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"cannot resolve the SMTP host ({exc.strerror or exc})", temporary=True, connection=True)
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryError(str(exc), temporary=True, connection=connecting)
    if isinstance(exc, OSError):
        return DeliveryError(f"network error: {exc.strerror or exc}", temporary=True, connection=connecting)
    raise exc


def needs_smtputf8(sender: str, recipient: str, raw: bytes) -> bool:
    """True when an address or a header is not ASCII (bodies are always 7-bit encoded)."""
    return not (sender.isascii() and recipient.isascii()) or any(b > 127 for b in raw)


class SmtpTransport:
    """One SMTP connection, opened on the first message and reused for the next ones."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def describe(self) -> str:
        return self.config.describe()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        smtp: smtplib.SMTP | None = None
        try:
            if config.implicit_tls:
                smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                        context=config.tls_context())
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            smtp.ehlo()
            if config.starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"{config.host} does not offer STARTTLS; set starttls=false in smtp.url "
                                        "only if the network is trusted", temporary=True, connection=True)
                smtp.starttls(context=config.tls_context())
                smtp.ehlo()
            if config.username:
                smtp.login(config.username, config.password)
        except BaseException as exc:
            if smtp is not None:
                smtp.close()
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise classify(exc, connecting=True) from None
        return smtp

    def probe(self) -> None:
        """Connect, greet (with STARTTLS and login as configured) and quit, sending nothing; raises
        DeliveryError as a delivery would (``voicebot doctor`` checks the server with it)."""
        self._smtp = self._connect()
        self.close()

    def send(self, raw: bytes, *, sender: str, recipient: str) -> None:
        """Hand one message to the server; returns once it accepted it (250 after DATA)."""
        if self._smtp is None:
            self._smtp = self._connect()
        options = ["SMTPUTF8", "BODY=8BITMIME"] if needs_smtputf8(sender, recipient, raw) else []
        try:
            self._smtp.sendmail(sender, [recipient], raw, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            raise classify(exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            # A refusal (4xx/5xx) leaves the session usable (smtplib sent RSET); anything else
            # (dropped, timed out, 421) leaves it in an unknown state: open a new one next time.
            if not isinstance(exc, smtplib.SMTPResponseException) or self._smtp.sock is None:
                self._drop()
            raise classify(exc) from None

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80] or "message"


class MaildirTransport:
    """Messages as ``.eml`` files in a Maildir (``new/``), for when no SMTP server is set."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def describe(self) -> str:
        return f"maildir:{self.path}"

    def __enter__(self) -> MaildirTransport:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def file_name(self, message_id: str, meeting_id: str | None, kind: str) -> str:
        digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:20]
        return f"{_safe_name(meeting_id or 'voicebot')}.{_safe_name(kind)}.{digest}.eml"

    def send(self, raw: bytes, *, message_id: str, meeting_id: str | None, kind: str) -> Path:
        target = self.path / "new" / self.file_name(message_id, meeting_id, kind)
        try:
            # fsync'd temp file renamed into place (mail readers skip its dot-name meanwhile);
            # Maildir files use the local line ending.
            return atomic_write(target, raw.replace(b"\r\n", b"\n"))
        except OSError as exc:
            raise DeliveryError(f"cannot write {target}: {exc.strerror or exc}", temporary=True,
                                connection=True) from None
