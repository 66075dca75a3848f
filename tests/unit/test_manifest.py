import pytest
import yaml

from plugin.manifest import DEFAULT_PATH, ManifestError, load_manifest


def _write(tmp_path, data):
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_manifest_is_valid_and_pins_the_api_version():
    manifest = load_manifest()
    assert manifest["shopify"]["api_version"] == "2026-10"
    assert "write_store_credit_account_transactions" in manifest["shopify"]["optional_scopes"]
    assert {"customers/data_request", "customers/redact", "shop/redact"} <= set(manifest["shopify"]["compliance_webhooks"])


@pytest.mark.parametrize("path, value, key", [
    (("shopify", "api_version"), "2026-13", "shopify.api_version"),
    (("shopify", "scopes"), ["read_orders", "steal_everything"], "shopify.scopes.1"),
    (("woocommerce", "webhooks"), ["order/created"], "woocommerce.webhooks.0"),
    (("shopify", "compliance_webhooks"), ["shop/redact"], "shopify.compliance_webhooks"),
    (("shopify", "optional_scopes"), ["read_orders"], "shopify.optional_scopes"),
    (("shopify", "optional_scopes"), ["give_me_everything"], "shopify.optional_scopes.0"),
])
def test_an_invalid_manifest_stops_start_up_naming_the_key(tmp_path, path, value, key):
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data[path[0]][path[1]] = value
    with pytest.raises(ManifestError, match=rf"{key.replace('.', '[.]')}:"):
        load_manifest(_write(tmp_path, data))


def test_a_missing_section_is_named(tmp_path):
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    del data["woocommerce"]
    with pytest.raises(ManifestError, match="woocommerce: Missing data"):
        load_manifest(_write(tmp_path, data))


def test_create_app_refuses_an_invalid_manifest(tmp_path, settings_with):
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["shopify"]["api_version"] = "latest"
    from plugin import create_app

    with pytest.raises(ManifestError, match="shopify.api_version"):
        create_app(settings_with(manifest_path=str(_write(tmp_path, data))))
