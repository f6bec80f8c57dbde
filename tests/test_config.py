"""Settings: every field documented in the README, environment and YAML precedence, clear
errors for misconfiguration, secrets never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pm4ml.config import ConfigError, Settings, load_settings, redacted

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description, f"{name} has no description"
    assert f"| `PM4ML_{name.upper()}` |" in README.read_text(encoding="utf-8")


def test_environment_wins_over_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "pm4ml.yaml"
    config.write_text("dfsp_id: fromyaml\nilp_version: 4\nexpiry_seconds: 30\n")
    monkeypatch.setenv("PM4ML_ILP_VERSION", "1")
    settings = load_settings(config)
    assert settings.dfsp_id == "fromyaml"
    assert settings.ilp_version == 1
    assert settings.expiry_seconds == 30


def test_yaml_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "pm4ml.yaml"
    config.write_text("dfsp_id: viaenv\n")
    monkeypatch.setenv("PM4ML_CONFIG_FILE", str(config))
    assert load_settings().dfsp_id == "viaenv"


def test_missing_yaml_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"dfsp_id": "has space"}, "PM4ML_DFSP_ID"),
        ({"ilp_version": 3}, "PM4ML_ILP_VERSION"),
        ({"peer_endpoint": "ftp://hub"}, "PM4ML_PEER_ENDPOINT"),
        ({"inbound_port": 70000}, "PM4ML_INBOUND_PORT"),
        ({"unknown_thing": 1}, "PM4ML_UNKNOWN_THING"),
    ],
)
def test_invalid_settings_name_the_variable(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(**overrides)


def test_check_serving_lists_every_problem(tmp_path: Path) -> None:
    settings = load_settings(jws_signing_key_path=tmp_path / "missing.pem")
    with pytest.raises(ConfigError) as caught:
        settings.check_serving()
    message = str(caught.value)
    for variable in ("PM4ML_ILP_SECRET", "PM4ML_JWS_SIGNING_KEY_PATH", "PM4ML_JWS_VERIFICATION"):
        assert variable in message


def test_secrets_are_redacted() -> None:
    settings = load_settings(
        ilp_secret="very-secret", database_url="postgresql+asyncpg://u:pw@h/db"
    )
    shown = redacted(settings)
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(shown)
    assert "pw@" not in str(shown)
    assert settings.effective_database_url == "postgresql+asyncpg://u:pw@h/db"


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'pm4ml.db'}"
