"""WooCommerce: REST API v3 through the official ``woocommerce`` package.

- ``client``    the one place that calls the store and classifies its answers
- ``mapping``   the only module that knows WooCommerce's JSON (orders, customers, refunds, coupons)
- ``webhooks``  reading X-WC-Webhook-* deliveries and the creation ping
- ``pages``     page-number cursors and several pages in flight for the backfill
- ``auth``      the store address, the /wc-auth/v1/authorize URL and the key handover
- ``adapter``   WooCommerceAdapter, bound to one shop's Connection
- ``wordpress/storecare/``  the WordPress loader plugin (PHP) merchants install
"""
