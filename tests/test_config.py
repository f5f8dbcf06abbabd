"""Configuration: defaults equal config.example.toml, env overrides win, bad keys fail fast."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from bot.config import REAL_API_BASE, Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray ./config.toml
    for key in [k for k in os.environ if k.startswith("WXOCR_")]:
        monkeypatch.delenv(key)


def test_builtin_defaults_equal_the_example_file() -> None:
    example = load_config(ROOT / "config.example.toml")
    assert example == load_config()
    raw = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    assert set(raw) == set(Config.model_fields)


def test_defaults_run_in_sandbox_mode_against_the_local_server() -> None:
    config = load_config()
    assert config.sandbox_mode
    assert config.api_base == "http://127.0.0.1:8080/sandbox"
    assert config.app_id == config.sandbox.app_id


def test_a_real_app_id_points_at_the_real_api(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[wechat]\napp_id = "wx123"\napp_secret = "s"\n', encoding="utf-8")
    config = load_config(path)
    assert not config.sandbox_mode
    assert config.api_base == REAL_API_BASE


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///file.db"\n[server]\nport = 9000\n', "utf-8")
    monkeypatch.setenv("WXOCR_DATABASE__URL", "sqlite:///env.db")
    config = load_config(path)
    assert config.database.url == "sqlite:///env.db"
    assert config.server.port == 9000


def test_config_file_from_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 9123\n", encoding="utf-8")
    monkeypatch.setenv("WXOCR_CONFIG", str(path))
    assert load_config().server.port == 9123


def test_local_config_toml_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[ocr]\nengine = "chain"\n', encoding="utf-8")
    assert load_config().ocr.engine == "chain"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[server]\nport = "eighty"\n', "server.port"),
        ('[ocr]\nengine = "tesseract"\n', "ocr.engine"),
        ('[wechat]\nencoding_aes_key = "short"\n', "wechat.encoding_aes_key"),
        ('[server]\npath = "wechat"\n', "server.path"),
        ("[servr]\nport = 1\n", "servr"),
        ("[pipeline]\npassive_budget_s = 6\n", "pipeline.passive_budget_s"),
    ],
)
def test_bad_values_fail_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(path)


def test_missing_and_broken_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
