"""An app built from production settings (real secrets; a SQLite file stands in for PostgreSQL)."""
from cryptography.fernet import Fernet

from plugin.settings import Settings


def test_production_session_cookies_survive_shopifys_iframe(tmp_path):
    """Embedded in Shopify's admin our cookie is third-party: SameSite=None, Secure and Partitioned."""
    from plugin import create_app

    key = Fernet.generate_key().decode()
    settings = Settings.from_env({"STORECARE_SECRET_KEY": "s" * 40, "STORECARE_ENCRYPTION_KEYS": key,
                                  "STORECARE_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                                  "STORECARE_DATA_DIR": str(tmp_path)})
    app = create_app(settings)
    try:
        config = app.config
        assert (config["SESSION_COOKIE_SAMESITE"], config["SESSION_COOKIE_SECURE"],
                config["SESSION_COOKIE_PARTITIONED"], config["SESSION_COOKIE_HTTPONLY"]) == ("None", True, True, True)
    finally:
        app.extensions["storecare.db"].dispose()
