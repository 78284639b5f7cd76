"""Typed settings from config/*.toml, a --config file and DUTYCHAT_* variables."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from chat_server.store.redis_pool import is_sentinel_url, parse_sentinel_url

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_CONFIG = CONFIG_DIR / "default.toml"
TOPICS_FILE = CONFIG_DIR / "topics.toml"
ACTIVITIES_FILE = CONFIG_DIR / "activities.toml"
LOCALITIES_FILE = CONFIG_DIR / "localities.toml"
# One translation catalogue per language the widget and pages can show.
CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "static" / "i18n"
SECRET_FILE_NAME = "secret_key"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it."""


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _origin(value: str) -> str:
    value = value.rstrip("/")
    scheme, sep, rest = value.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
        raise ValueError(f"{value!r} is not an origin like https://example.org")
    return value


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    allowed_origins: tuple[str, ...] = ()
    data_dir: Path = Path("./var")
    shutdown_timeout_seconds: float = Field(10, ge=0)
    ping_interval_seconds: float = Field(20, gt=0, le=300)
    ping_timeout_seconds: float = Field(20, gt=0, le=300)
    trusted_proxies: tuple[str, ...] = ()

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if scheme not in ("http", "https"):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_origin(v) for v in value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies)

    @property
    def public_origin(self) -> str:
        scheme, _, rest = self.public_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


class DatabaseSettings(_Section):
    url: str = ""
    migrate_on_start: bool = True
    pool_size: int = Field(5, ge=1, le=100)
    max_overflow: int = Field(10, ge=0, le=100)


NoSpeakerRule = Literal["wait", "offer", "anyone"]


class NoSpeakerPolicy(_Section):
    """What a chat in a language that nobody on duty speaks gets (docs/protocol.md, Routing)."""

    when: NoSpeakerRule = "offer"
    # For "wait": how soon a speaker's shift must start for the visitor to be asked to wait.
    wait_minutes: int = Field(30, ge=0, le=1440)


class ChatSettings(_Section):
    store: Literal["memory", "redis"] = "memory"
    redis_url: str = ""
    redis_accept_persistence: bool = False
    redis_key_prefix: str = Field("dutychat:", min_length=1, max_length=100)
    redis_key_ttl_seconds: int = Field(86400, ge=60)
    redis_max_connections: int = Field(50, ge=2, le=1000)
    redis_pubsub_max_connections: int = Field(20, ge=2, le=1000)
    redis_wait_replicas: int = Field(1, ge=0, le=5)
    redis_replica_timeout_ms: int = Field(500, ge=10, le=10000)
    languages: tuple[str, ...] = ("fi", "sv", "en", "ru", "th", "es", "et")
    link_allowlist: tuple[str, ...] = ()
    max_message_length: int = Field(2000, ge=1, le=20000)
    queue_preview_chars: int = Field(80, ge=0, le=500)
    visitor_grace_seconds: float = Field(120, gt=0)
    staff_grace_seconds: float = Field(30, gt=0)
    unstaffed_queue: bool = True
    unstaffed_alert_seconds: float = Field(0, ge=0, le=24 * 3600)
    default_max_chats: int = Field(3, ge=1, le=50)
    take_extra_chats: int = Field(1, ge=0, le=10)
    wrapup_seconds: float = Field(600, gt=0)
    default_chat_seconds: float = Field(600, gt=0)
    session_time_resolution_minutes: int = Field(15, ge=1, le=1440)
    block_minutes: int = Field(60, ge=1, le=1440)
    training_listeners: bool = False
    no_speaker: NoSpeakerPolicy = NoSpeakerPolicy()
    no_speaker_by_language: dict[str, NoSpeakerPolicy] = Field(default_factory=dict)

    def no_speaker_policy(self, language: str) -> NoSpeakerPolicy:
        """The policy of a language: its own, or the default one."""
        return self.no_speaker_by_language.get(language, self.no_speaker)

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one language is needed")
        for code in value:
            if not (len(code) == 2 and code.isascii() and code.isalpha() and code.islower()):
                raise ValueError(f"{code!r} is not a two-letter lower-case language code")
            if not (CATALOGUE_DIR / f"{code}.json").is_file():
                raise ValueError(f"{code!r} has no translation catalogue (static/i18n/{code}.json)")
        return value

    @field_validator("link_allowlist")
    @classmethod
    def _check_link_allowlist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_host_name(host) for host in value)

    @model_validator(mode="after")
    def _check_store(self) -> ChatSettings:
        if self.store == "redis" and not self.redis_url:
            raise ValueError("store = 'redis' needs chat.redis_url")
        if self.store == "redis" and is_sentinel_url(self.redis_url):
            try:
                parse_sentinel_url(self.redis_url)
            except ValueError as exc:
                raise ValueError(f"chat.redis_url: {exc}") from None
        return self


class LimitSettings(_Section):
    max_packet_bytes: int = Field(65536, ge=1024)
    events_per_second: float = Field(5.0, gt=0)
    event_burst: int = Field(20, ge=1)
    # Flood limits (docs/deploy.md): per worker, per address hash, per chat.
    max_connections_per_worker: int = Field(4000, ge=1)
    sockets_per_address: int = Field(60, ge=1)
    live_chats_per_address: int = Field(12, ge=1)
    chat_starts_per_address: int = Field(30, ge=1)
    chat_start_window_seconds: int = Field(60, ge=1, le=86400)
    max_queue_length: int = Field(200, ge=1)
    closed_count_minutes: int = Field(60, ge=1, le=1440)
    max_chat_messages: int = Field(2000, ge=10)
    max_chat_bytes: int = Field(1_048_576, ge=1024)
    fetch_page_size: int = Field(200, ge=10, le=10000)


class GroupSettings(_Section):
    """Peer group sessions (docs/protocol.md, the /group namespace)."""

    min_nickname_length: int = Field(2, ge=1, le=20)
    max_nickname_length: int = Field(24, ge=4, le=64)
    # Compared case- and accent-insensitively, like every nickname; staff aliases are reserved too.
    reserved_nicknames: tuple[str, ...] = (
        "moderator", "mod", "admin", "administrator", "staff", "dutychat", "system", "host", "leader",
        "moderaattori", "ohjaaja", "yllapito", "modererare", "moderador", "moderaator",
    )
    # Messages per second in one session, every sender together (a flood by many sockets).
    room_messages_per_second: int = Field(20, ge=1, le=1000)
    # The room keeps this many latest messages for resuming clients; older ones are deleted.
    max_room_messages: int = Field(2000, ge=10, le=100000)
    # The waiting list holds at most this many once the room is full (0: no waiting list).
    max_waiting: int = Field(50, ge=0, le=1000)
    # "someone is typing" (false) or the nickname of who types (true).
    typing_names: bool = False
    max_slow_mode_seconds: int = Field(300, ge=1, le=3600)


class RosterSettings(_Section):
    check_in_early_minutes: int = Field(15, ge=0, le=24 * 60)
    release_notice_hours: float = Field(48, ge=0, le=24 * 60)
    hand_over_at_shift_end: bool = True


def _host_name(value: str) -> str:
    """A plain host name, lower-case, without a trailing dot (no scheme, path or port)."""
    host = value.strip().lower().rstrip(".")
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError(f"{host!r} is not a host name like example.org (no scheme, path or port)")
    return host


def url_host(url: str) -> str:
    """The host name of an http(s) URL, lower-case, without port or trailing dot."""
    rest = url.partition("://")[2]
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    if authority.startswith("["):
        return authority.split("]", 1)[0] + "]"
    return authority.split(":", 1)[0].lower().rstrip(".")


class OrganisationSettings(_Section):
    timezone: str = "Europe/Helsinki"
    quick_exit_url: str = "https://www.google.com/"
    # The organisation's own site: its host is on the link allow-list (docs/protocol.md, GET /api/status).
    website: str = ""

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quick_exit_url")
    @classmethod
    def _check_exit(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("website")
    @classmethod
    def _check_website(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL (or empty)")
        _host_name(url_host(value))
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ReportSettings(_Section):
    small_number_threshold: int = Field(5, ge=2, le=100)
    feedback_ticket_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)


class ActivitySettings(_Section):
    # A short free note with an activity entry: off unless the organisation turns it on.
    notes: bool = False
    note_max_length: int = Field(200, ge=20, le=1000)


class AuthSettings(_Section):
    session_hours: float = Field(12, gt=0, le=24 * 30)
    idle_minutes: float = Field(60, ge=0, le=24 * 60)
    # How stale a staff socket's view of its session may be: an ended session closes its sockets within this.
    session_check_seconds: float = Field(5, gt=0, le=60)
    secret_key: str = ""
    min_password_length: int = Field(12, ge=8, le=128)
    min_password_score: int = Field(3, ge=0, le=4)
    password_threads: int = Field(1, ge=1, le=16)
    password_max_waiting: int = Field(8, ge=0, le=1000)
    login_free_attempts_per_user: int = Field(5, ge=1, le=1000)
    login_free_attempts_per_address: int = Field(20, ge=1, le=100000)
    login_backoff_base_seconds: float = Field(1, gt=0, le=3600)
    login_backoff_max_seconds: float = Field(900, gt=0, le=24 * 3600)
    login_attempts_forget_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)
    temporary_password_hours: float = Field(72, gt=0, le=24 * 90)
    totp_required_roles: tuple[Literal["staff", "manager", "admin"], ...] = ("manager", "admin")

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value


class MetricsSettings(_Section):
    # Empty: /metrics answers 404. Otherwise a scrape sends `Authorization: Bearer <token>`.
    token: str = ""

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: str) -> str:
        if value and (len(value) < 32 or not value.isascii() or not value.isprintable() or " " in value):
            raise ValueError("must be at least 32 printable ASCII characters without spaces (or empty: off)")
        return value


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "auto": readable text on a terminal, JSON (one object per line) for a service's log.
    format: Literal["auto", "json", "text"] = "auto"
    access_log: bool = True
    repeat_interval_seconds: float = Field(default=60.0, gt=0)


class TestingSettings(_Section):
    movable_clock: bool = False


class HelpSettings(_Section):
    # "Help now" when nobody else is signed in: POST a JSON (no chat content) here; "" = off.
    webhook_url: str = ""
    webhook_timeout_seconds: float = Field(5, gt=0, le=60)

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("help.webhook_url must be an http or https address, or empty")
        return value


class Settings(BaseSettings):
    """Every dutychat setting; see config/default.toml for what each means."""

    model_config = SettingsConfigDict(
        env_prefix="DUTYCHAT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    chat: ChatSettings = ChatSettings()
    limits: LimitSettings = LimitSettings()
    roster: RosterSettings = RosterSettings()
    groups: GroupSettings = GroupSettings()
    organisation: OrganisationSettings = OrganisationSettings()
    help: HelpSettings = HelpSettings()
    reports: ReportSettings = ReportSettings()
    activities: ActivitySettings = ActivitySettings()
    auth: AuthSettings = AuthSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    testing: TestingSettings = TestingSettings()

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.server.data_dir / 'dutychat.db').resolve()}"

    @property
    def link_hosts(self) -> tuple[str, ...]:
        """The hosts whose links are clickable: the organisation's site, the public URL's, chat.link_allowlist."""
        own = [url_host(self.organisation.website)] if self.organisation.website else []
        return tuple(dict.fromkeys([*own, url_host(self.server.public_url), *self.chat.link_allowlist]))

    @property
    def secret(self) -> bytes:
        if not self.auth.secret_key:
            raise SettingsError("auth.secret_key is not set (see ensure_secret)")
        return self.auth.secret_key.encode()

    def replace(self, **sections: dict[str, Any]) -> Settings:
        """Return a copy with some keys of some sections changed, validated."""
        data = self.model_dump()
        _deep_merge(data, sections)
        return _build(data, {})


class _DictSource(PydanticBaseSettingsSource):
    """Lowest-precedence source: the merged TOML files."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]) or "settings"
        env = "DUTYCHAT_" + "__".join(str(p).upper() for p in err["loc"])
        lines.append(f"invalid setting {name} ({env}): {err['msg']}")
    return "\n".join(lines)


def _build(file_data: dict[str, Any], overrides: dict[str, Any], use_env: bool = False) -> Settings:
    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            if use_env:
                return (init_settings, env_settings, _DictSource(settings_cls, file_data))
            return (init_settings, _DictSource(settings_cls, file_data))

    try:
        loaded = _Loaded(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    use_env: bool = True,
) -> Settings:
    """Load settings: overrides > environment > config_file > config/default.toml."""
    data = _read_toml(DEFAULT_CONFIG)
    if config_file is not None:
        _deep_merge(data, _read_toml(config_file))
    return _build(data, overrides or {}, use_env=use_env)


def ensure_secret(settings: Settings) -> Settings:
    """Return settings with a secret key, generating one into the data dir once."""
    if settings.auth.secret_key:
        return settings
    data_dir = settings.server.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE_NAME
    if not path.exists():
        # O_EXCL: two workers starting together must not overwrite each other's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    if path.stat().st_mode & 0o077:
        raise SettingsError(f"{path} must not be readable by others (chmod 600)")
    key = path.read_text().strip()
    if len(key) < 32:
        raise SettingsError(f"{path} holds a secret key shorter than 32 characters")
    return settings.replace(auth={"secret_key": key})
