"""Settings: defaults < voicebot.toml < VOICEBOT_* environment variables.

Every setting lives in a section; its environment variable is
``VOICEBOT_<SECTION>_<KEY>`` (``home`` is top level: ``VOICEBOT_HOME``).
Sections are named so the common variables read naturally:
``VOICEBOT_SMTP_URL``, ``VOICEBOT_SMTP_PASSWORD``, ``VOICEBOT_DATABASE_URL``,
``VOICEBOT_ASR_MODEL``...

The settings file is ``$VOICEBOT_CONFIG`` if set, else ``voicebot.toml`` in
the current directory, else ``voicebot.toml`` in the home folder.
Without ``VOICEBOT_HOME`` (or ``home`` in the file), the home is the current
directory: ``models/``, ``recordings/`` and ``voicebot.db`` live there.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from voicebot.errors import UserError

ENV_PREFIX = "VOICEBOT_"


@dataclass
class AsrSettings:
    engine: str = "faster-whisper"  # or "openai-whisper"
    model: str = "base"  # a known name (base, tiny.en, small, large-v3...) or a model directory
    language: str = ""  # "" = detect (per chunk, so mixed-language meetings work)
    compute_type: str = "int8"
    threads: int = 0  # 0 = all cores
    beam_size: int = 5
    initial_prompt: str = ""
    hotwords: str = ""


@dataclass
class DiarizeSettings:
    engine: str = "builtin"  # or "pyannote", or "none"
    pyannote_pipeline: str = "pyannote/speaker-diarization-community-1"  # hub id or local dir
    hf_token: str = ""
    match_threshold: float = 0.0  # 0 = the engine's calibrated default


@dataclass
class MinutesSettings:
    engine: str = "auto"  # auto (llama when a model is installed, else extractive), llama, extractive, openai, transformers
    model: str = ""  # transformers: a model directory or a .gguf file
    openai_url: str = ""  # an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1
    openai_model: str = ""
    openai_api_key: str = ""
    timeout: float = 120.0  # openai: seconds per request (the whole run is bounded by [llm] timeout)
    max_new_tokens: int = 1024  # openai, transformers: the longest answer the model may write per request


@dataclass
class LlmSettings:
    """The local language model (llama.cpp) that drafts the minutes."""

    model: str = "qwen2.5-coder-1.5b-instruct"  # an installed model's name (`voicebot models list`) or a .gguf path
    context: int = 4096  # tokens the model sees at once (prompt + answer)
    threads: int = 0  # CPU threads; 0 = half the cores write the answer (at least one), all read the prompt
    timeout: float = 600.0  # seconds for a whole minutes run; past it the rest comes from the extractive engine
    prompt_budget: int = 3000  # transcript tokens the model reads per meeting (the most telling sentences first)


@dataclass
class SmtpSettings:
    url: str = ""  # smtp://user@host:587?starttls=true ; empty = write to the Maildir outbox
    password: str = ""
    timeout: float = 30.0


@dataclass
class MailSettings:
    sender: str = "voicebot@localhost"
    admin: str = ""  # incidents are mailed here
    team_domains: list[str] = field(default_factory=list)  # outside these, no full transcript
    attach_transcript: bool = False
    redact: bool = False
    max_attempts: int = 8  # delivery attempts before a message is marked failed
    retry_base: float = 60.0  # seconds before the first retry; doubles each attempt (with jitter)
    retry_max: float = 6 * 3600.0  # the longest wait between two attempts, seconds
    attach_ics: bool = True  # .ics to-dos for the recipient's action items with due dates
    web_url: str = ""  # where recipients open /meetings/<id>; empty = http://<web.host>:<web.port>


@dataclass
class DatabaseSettings:
    url: str = ""  # empty = SQLite file <home>/voicebot.db ; postgresql://... for PostgreSQL


@dataclass
class RecordSettings:
    device: str = ""  # name or index; empty = system default input
    samplerate: int = 16000
    channels: int = 1
    chunk_seconds: float = 1.0  # a power cut loses at most this much audio (a program crash: ~0.1-0.2 s)
    silence_warning_seconds: float = 30.0
    low_disk_mb: int = 500
    keep_chunks: bool = False  # keep recordings/<id>/chunks/ even once audio.flac is verified complete
    live: bool = True  # transcribe while recording (voicebot.live), so only the tail is left at the end
    live_nice: int = 19  # the live worker's CPU niceness: capture and everything else go first


@dataclass
class RetentionSettings:
    older_than: str = ""  # e.g. "90d"; empty = keep forever
    keep_minutes: bool = True


@dataclass
class PipelineSettings:
    max_attempts: int = 3
    email: bool = True


@dataclass
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    password: str = ""  # a shared login password (hashed before use); `voicebot users add` is better
    secret: str = ""  # session signing key; generated and stored under home when empty
    session_hours: float = 12.0  # a login lasts this long, then the browser asks again
    trusted_proxies: list[str] = field(default_factory=list)  # reverse proxies (IPs or CIDRs) whose
    # X-Forwarded-For / X-Forwarded-Proto are believed; from anyone else these headers are ignored
    max_upload_mb: int = 2048  # the largest audio file POST /api/uploads takes
    abandoned_upload_days: float = 7.0  # an upload in progress that got no piece for this long is shredded
    # (its sender still has the audio and sends what is missing); 0: kept until it is finished


@dataclass
class QueueSettings:
    """The team server's task queue (voicebot.queue): Celery on a Redis broker."""

    broker_url: str = ""  # redis://127.0.0.1:6379/0 ; empty = no queue: uploads are processed by the web server
    visibility_timeout: float = 12 * 3600.0  # seconds before Redis gives an unacknowledged job to another
    # worker; longer than the longest job, or a running job is delivered twice (the meeting's lock then
    # turns the second one away)
    retry_seconds: float = 60.0  # a failed stage is tried again after this long (pipeline.max_attempts bounds it)
    sweep_seconds: float = 60.0  # how often a worker looks for the jobs of workers that died whole, to requeue them
    check_seconds: float = 20.0  # how often `voicebot serve` checks the broker and the workers (voicebot.service)
    worker_silence_seconds: float = 120.0  # jobs waiting and no worker answering for this long: a service incident
    alert_webhook: str = ""  # also POST service incidents and recoveries here ({"text": ...}; ntfy, Slack...)
    report_hour: int = 7  # from this hour (the server's time) `voicebot serve` mails the admins yesterday's report; -1: never


@dataclass
class AskSettings:
    engine: str = "auto"  # auto (the local model when installed, else the best passages), llama, passages
    passages: int = 4  # passages the model reads (and `ask` shows without a model): ~600 prompt tokens
    timeout: float = 60.0  # seconds the model may take to answer; past it, the passages alone


@dataclass
class Settings:
    home: Path = field(default_factory=Path.cwd)
    asr: AsrSettings = field(default_factory=AsrSettings)
    diarize: DiarizeSettings = field(default_factory=DiarizeSettings)
    minutes: MinutesSettings = field(default_factory=MinutesSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    record: RecordSettings = field(default_factory=RecordSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    web: WebSettings = field(default_factory=WebSettings)
    ask: AskSettings = field(default_factory=AskSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    source: Path | None = None  # the settings file that was read, if any

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def recordings_dir(self) -> Path:
        return self.home / "recordings"

    @property
    def database_path(self) -> Path:
        return self.home / "voicebot.db"

    @property
    def maildir(self) -> Path:
        return self.home / "outbox"

    @property
    def web_address(self) -> str:
        """Where people open the web app (links in mail and in answers), without a trailing slash."""
        return (self.mail.web_url or f"http://{self.web.host}:{self.web.port}").rstrip("/")


_SECTIONS = [f.name for f in dataclasses.fields(Settings) if f.name not in ("home", "source")]


def _coerce(value: object, kind: object, where: str) -> object:
    """Turn a TOML value or an environment string into the field's type."""
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if kind is int:
            return int(value)  # type: ignore[arg-type]
        if kind is float:
            return float(value)  # type: ignore[arg-type]
        if kind is Path:
            return Path(str(value)).expanduser()
        if typing.get_origin(kind) is list:
            if isinstance(value, list):
                return [str(v) for v in value]
            return [v.strip() for v in str(value).split(",") if v.strip()]
        return str(value)
    except (TypeError, ValueError):
        raise UserError(f"setting {where} = {value!r} is not a valid {getattr(kind, '__name__', kind)}") from None


def _apply(target: object, values: dict, where: str) -> None:
    hints = typing.get_type_hints(type(target))
    for key, value in values.items():
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise UserError(f"unknown setting {where}{key}; known: {known}")
        setattr(target, key, _coerce(value, hints[key], f"{where}{key}"))


def find_settings_file(env: typing.Mapping[str, str]) -> Path | None:
    if env.get("VOICEBOT_CONFIG"):
        path = Path(env["VOICEBOT_CONFIG"]).expanduser()
        if not path.is_file():
            raise UserError(f"VOICEBOT_CONFIG points to {path}, which is not a file")
        return path
    candidates = [Path.cwd() / "voicebot.toml"]
    if env.get("VOICEBOT_HOME"):
        candidates.append(Path(env["VOICEBOT_HOME"]).expanduser() / "voicebot.toml")
    return next((p for p in candidates if p.is_file()), None)


def load_settings(env: typing.Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    settings = Settings()
    path = find_settings_file(env)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path} is not valid TOML: {exc}") from None
        settings.source = path
        if "home" in data:
            home = Path(str(data.pop("home"))).expanduser()
            settings.home = home if home.is_absolute() else path.parent / home
        for section, values in data.items():
            if section not in _SECTIONS or not isinstance(values, dict):
                raise UserError(f"{path}: unknown section [{section}]; known: {', '.join(_SECTIONS)}")
            _apply(getattr(settings, section), values, f"{section}.")
    if env.get("VOICEBOT_HOME"):
        settings.home = Path(env["VOICEBOT_HOME"]).expanduser()
    for section in _SECTIONS:
        target = getattr(settings, section)
        prefix = f"{ENV_PREFIX}{section.upper()}_"
        values = {
            key[len(prefix):].lower(): value
            for key, value in env.items()
            if key.startswith(prefix) and key[len(prefix):].lower() in typing.get_type_hints(type(target))
        }
        _apply(target, values, f"{section}.")
    settings.home = settings.home.resolve()
    return settings


def env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
