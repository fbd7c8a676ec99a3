"""The generated clients of the API (``make sdk``): the merged OpenAPI document, built in process,
through openapi-python-client and openapi-typescript, each checked (mypy, tsc). See docs/sdk.md."""
