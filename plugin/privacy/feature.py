"""Privacy: customer data exports and erasure, shop erasure, and their audit (``flask privacy``)."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job

FEATURE = Feature(
    name="privacy",
    jobs=(Job("privacy.redact_shop", "plugin.privacy.tasks:redact_shop_job",
              label=lazy_gettext("Erasure of your store's data")),),
    commands=("plugin.privacy.cli:privacy_cli",),
)
