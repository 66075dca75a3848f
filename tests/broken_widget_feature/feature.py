from plugin.features import Feature
from plugin.storefront.widgets import Widget

FEATURE = Feature(name="broken-widget",
                  widgets=(Widget("reviews", script="widgets/reviews.js", mount="inline"),))
