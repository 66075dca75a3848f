import pytest
from cryptography.fernet import Fernet

from plugin.settings import Settings, SettingsError


def test_production_refuses_to_start_without_secrets():
    with pytest.raises(SettingsError, match="SECRET_KEY.*ENCRYPTION_KEYS"):
        Settings.from_env({})


def test_production_refuses_the_development_defaults():
    demo = Settings.from_env({"STORECARE_ENV": "demo"})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({"STORECARE_SECRET_KEY": demo.secret_key,
                           "STORECARE_ENCRYPTION_KEYS": Fernet.generate_key().decode()})


def test_production_starts_with_real_secrets_and_reads_only_prefixed_variables():
    key = Fernet.generate_key().decode()
    s = Settings.from_env({"STORECARE_SECRET_KEY": "s" * 40, "STORECARE_ENCRYPTION_KEYS": f"{key}, old",
                           "STORECARE_REDIS_URL": "redis://127.0.0.1:6379/0", "SECRET_KEY": "ignored",
                           "STORECARE_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert s.is_production and s.encryption_keys == (key, "old")
    assert s.redis_url == "redis://127.0.0.1:6379/0" and s.database_url.startswith("postgresql")


def test_demo_mode_gets_development_defaults():
    s = Settings.from_env({"STORECARE_ENV": "demo", "STORECARE_DATA_DIR": "/tmp/x"})
    assert s.secret_key and s.encryption_keys
    assert s.database_url == "sqlite:////tmp/x/storecare.db"


def test_unknown_environment_is_named():
    with pytest.raises(SettingsError, match="STORECARE_ENV must be one of"):
        Settings.from_env({"STORECARE_ENV": "staging"})

