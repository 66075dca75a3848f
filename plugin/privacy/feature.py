"""Privacy: customer data exports and erasure, shop erasure, and their audit (``flask privacy``)."""
from plugin.features import Feature, Job

FEATURE = Feature(
    name="privacy",
    jobs=(Job("privacy.redact_shop", "plugin.privacy.tasks:redact_shop_job"),),
    commands=("plugin.privacy.cli:privacy_cli",),
)
