"""The API kit and the merchant API: declared operations (parsed and dumped by marshmallow schemas),
the OpenAPI document at /api/openapi.json, and per-shop API keys for /api/v1."""
