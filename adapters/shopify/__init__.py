"""Shopify behind the PlatformAdapter interface, through the Admin GraphQL API only.

Modules: ``adapter`` (ShopifyAdapter, the entry point the registry names), ``client`` (one GraphQL
call over the app's requests session, with retries), ``throttle`` (the calculated-cost bucket),
``bulk`` (bulk-operation export and its JSONL), ``mapping`` (the only module that knows Shopify's
JSON shapes; ``readers`` holds its typed field readers), ``webhooks`` (headers and topics),
``documents`` (the .graphql files in ``graphql/``).
Nothing is imported here, so reading one module never pulls in the others.
"""
