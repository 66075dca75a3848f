"""A feature whose settings defaults its own schema refuses: installing it must stop start-up."""
from plugin.features import Feature, SettingsSection

FEATURE = Feature(
    name="broken_settings",
    settings=SettingsSection("example_defaults", "Broken", "tests.example_feature.settings:ExampleSettings",
                             "example/settings.html", defaults={"greeting": "", "points_per_order": "lots"}),
)
