"""Privacy: the platforms' mandatory requests (export a customer's data, erase a customer, erase a
shop), the exports a merchant downloads, and the audit that proves each request was carried out
(``service``; the webhooks arrive through the sync inbox, which routes them here)."""
