import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from plugin import ROOT
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



PRODUCTION = {"STORECARE_SECRET_KEY": "s" * 40, "STORECARE_ENCRYPTION_KEYS": Fernet.generate_key().decode()}


def test_the_woocommerce_private_stores_and_ca_bundle_are_read(tmp_path):
    import trustme

    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))

    s = Settings.from_env({**PRODUCTION, "STORECARE_WOOCOMMERCE_PRIVATE_STORES": " shop.lan, 10.20.0.0/16 ,,fd00::/8",
                           "STORECARE_WOOCOMMERCE_CA_BUNDLE": str(bundle)})

    assert s.woocommerce_private_stores == ("shop.lan", "10.20.0.0/16", "fd00::/8")
    assert s.woocommerce_ca_bundle == str(bundle)


@pytest.mark.parametrize("env", ["production", "demo"])
def test_a_malformed_private_store_stops_start_up_naming_it(env):
    with pytest.raises(SettingsError, match=r"WOOCOMMERCE_PRIVATE_STORES: '10\.0\.0\.1/24' is not a CIDR network"):
        Settings.from_env({**PRODUCTION, "STORECARE_ENV": env,
                           "STORECARE_WOOCOMMERCE_PRIVATE_STORES": "shop.lan,10.0.0.1/24"})
    with pytest.raises(SettingsError, match=r"'https://shop\.lan' is neither a host name nor a CIDR network"):
        Settings.from_env({**PRODUCTION, "STORECARE_ENV": env, "STORECARE_WOOCOMMERCE_PRIVATE_STORES": "https://shop.lan"})


def test_a_ca_bundle_that_is_missing_or_not_pem_stops_start_up(tmp_path):
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(SettingsError, match=f"WOOCOMMERCE_CA_BUNDLE: {missing} is not a file"):
        Settings.from_env({**PRODUCTION, "STORECARE_WOOCOMMERCE_CA_BUNDLE": str(missing)})

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(SettingsError, match=f"WOOCOMMERCE_CA_BUNDLE: {garbage} holds no PEM certificates"):
        Settings.from_env({**PRODUCTION, "STORECARE_WOOCOMMERCE_CA_BUNDLE": str(garbage)})


def serving(env: dict) -> subprocess.CompletedProcess:
    """gunicorn's view of the configuration: plugin/gunicorn_conf.py imported as gunicorn imports it."""
    code = "from plugin import gunicorn_conf as c; print(c.workers, c.threads, c.loglevel)"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STORECARE_")}
    return subprocess.run([sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_gunicorns_configuration_reads_its_settings_through_settings():
    assert serving({}).stdout.split() == ["3", "24", "warning"]
    done = serving({"STORECARE_WEB_WORKERS": "5", "STORECARE_WEB_THREADS": "8", "STORECARE_WEB_LOG_LEVEL": "info"})
    assert done.stdout.split() == ["5", "8", "info"]


@pytest.mark.parametrize("name, value", [("WEB_WORKERS", "0"), ("WEB_THREADS", "many"), ("WEB_THREADS", "-4")])
def test_a_serving_setting_that_cannot_work_stops_gunicorn_naming_it(name, value):
    done = serving({f"STORECARE_{name}": value})

    assert done.returncode != 0 and f"STORECARE_{name} must be a whole number of at least 1" in done.stderr


def test_the_webhook_lane_is_on_unless_turned_off():
    assert Settings.from_env({"STORECARE_ENV": "demo"}).webhook_lane is True
    assert Settings.from_env({"STORECARE_ENV": "demo", "STORECARE_WEBHOOK_LANE": "0"}).webhook_lane is False
    assert Settings.from_env({"STORECARE_ENV": "demo", "STORECARE_WEBHOOK_LANE": "off"}).webhook_lane is False
    with pytest.raises(SettingsError, match="STORECARE_WEBHOOK_LANE must be 1 or 0"):
        Settings.from_env({"STORECARE_ENV": "demo", "STORECARE_WEBHOOK_LANE": "maybe"})
