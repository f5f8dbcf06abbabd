"""The one typed configuration object: TOML file + ``WXOCR_SECTION__KEY`` env overrides.

Where the file comes from: ``--config FILE``, else ``$WXOCR_CONFIG``, else
``./config.toml`` if present, else the built-in defaults (equal to
``config.example.toml``). A bad value fails at start with a message naming the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

REAL_API_BASE = "https://api.weixin.qq.com"
ENV_PREFIX = "WXOCR_"

EngineName = Literal["local", "wechat"]
DEFAULT_CHAIN: tuple[EngineName, ...] = ("wechat", "local")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    path: str = "/wechat"
    threads: int = Field(8, ge=1)
    max_body_bytes: int = Field(65536, ge=1024)
    timestamp_tolerance_s: int = Field(300, ge=1)
    # 0: one process served by waitress; N: gunicorn with N worker processes (Linux only).
    workers: int = Field(0, ge=0)
    # The reverse proxy whose X-Forwarded-For/-Proto headers are believed ("*": any peer).
    trusted_proxy: str = ""

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value


class WechatConfig(_Section):
    app_id: str = ""
    app_secret: str = ""
    token: str = "wxocr-dev-token"
    encoding_aes_key: str = ""
    api_base: str = ""
    token_mode: Literal["stable", "classic"] = "stable"
    timeout_s: float = Field(5.0, gt=0)
    max_retries: int = Field(2, ge=0)
    token_refresh_margin_s: int = Field(600, ge=60)
    max_media_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    picurl_hosts: list[str] = Field(default_factory=lambda: ["mmbiz.qpic.cn"])

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_length(cls, value: str) -> str:
        if value and len(value) != 43:
            raise ValueError("must be exactly 43 characters (or empty for plain mode)")
        return value


class DatabaseConfig(_Section):
    url: str = "sqlite:///wxocr.db"


class OcrConfig(_Section):
    engine: Literal["local", "wechat", "chain"] = "local"
    chain: list[EngineName] = Field(default_factory=lambda: list(DEFAULT_CHAIN))
    threads: int = Field(2, ge=1)
    max_image_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(40_000_000, ge=10_000)
    max_side: int = Field(1600, ge=320)
    wechat_daily_quota: int = Field(500, ge=0)


class PipelineConfig(_Section):
    passive_budget_s: float = Field(4.0, gt=0, lt=5.0)
    daily_limit: int = Field(100, ge=0)
    # A worker that has not renewed its claim on a photo for this long is presumed dead,
    # and the photo is processed again by another worker (or after a restart).
    lease_s: float = Field(30.0, ge=1.0)


class OperatorsConfig(_Section):
    openids: list[str] = Field(default_factory=list)


class AdminConfig(_Section):
    token: str = ""
    # Failed logins (form or bearer token) one client address may make within the window;
    # then HTTP 429 until the oldest failure leaves it. Counted in each server process.
    login_max_failures: int = Field(5, ge=1)
    login_window_s: float = Field(300.0, gt=0)

    @field_validator("token")
    @classmethod
    def _token_long_enough(cls, value: str) -> str:
        # The dashboard is on the public webhook host; a short token is guessed online.
        if value and len(value) < 16:
            raise ValueError("must be at least 16 characters (or empty to turn /admin off)")
        return value


class RetentionConfig(_Section):
    usage_days: int = Field(180, ge=1)


class LogConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = "Asia/Shanghai"


class SandboxConfig(_Section):
    app_id: str = "wxsandbox0000000001"
    app_secret: str = "sandbox-secret"
    token_ttl_s: int = Field(7200, ge=1)
    token_grace_s: int = Field(300, ge=0)
    media_ttl_s: int = Field(3 * 86400, ge=1)
    ocr_daily_quota: int = Field(500, ge=0)
    latency_ms: int = Field(0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)
    drop_rate: float = Field(0.0, ge=0, le=1)


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    server: ServerConfig = Field(default_factory=ServerConfig)
    wechat: WechatConfig = Field(default_factory=WechatConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    operators: OperatorsConfig = Field(default_factory=OperatorsConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs (see load_config); the environment wins over it.
        return (env_settings, init_settings)

    @property
    def sandbox_mode(self) -> bool:
        """No real official account configured: talk to the built-in emulator."""
        return not self.wechat.app_id

    @property
    def app_id(self) -> str:
        return self.wechat.app_id or self.sandbox.app_id

    @property
    def app_secret(self) -> str:
        return self.wechat.app_secret if self.wechat.app_id else self.sandbox.app_secret

    @property
    def api_base(self) -> str:
        """Where the WeChat API lives: configured, else the sandbox in sandbox mode."""
        if self.wechat.api_base:
            return self.wechat.api_base.rstrip("/")
        if self.sandbox_mode:
            host = "127.0.0.1" if self.server.host in ("0.0.0.0", "::", "") else self.server.host  # noqa: S104
            return f"http://{host}:{self.server.port}/sandbox"
        return REAL_API_BASE


def find_config_file(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if env.get("WXOCR_CONFIG"):
        return Path(env["WXOCR_CONFIG"])
    local = Path("config.toml")
    return local if local.is_file() else None


def load_config(path: str | Path | None = None) -> Config:
    """Build the configuration once at start; raise ConfigError naming the bad key.

    Environment overrides come from ``os.environ`` (tests use ``monkeypatch.setenv``).
    """
    file = find_config_file(path, os.environ)
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {file}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from exc
    try:
        return Config(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        source = f" (from {file})" if file else ""
        raise ConfigError(f"invalid configuration{source}: {problems}") from exc


def local_engine_options(config: Config) -> dict[str, Any]:
    """The local engine's options from ``ocr``: the pipeline's, readiness's and the sandbox's."""
    return {
        "max_bytes": config.ocr.max_image_bytes,
        "max_pixels": config.ocr.max_pixels,
        "max_side": config.ocr.max_side,
        "threads": config.ocr.threads,
    }
