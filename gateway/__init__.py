"""The gateway: the one public entry point (identity, routing, merged OpenAPI, rate limits)."""
