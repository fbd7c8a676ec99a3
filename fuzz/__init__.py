"""Contract fuzzing: schemathesis over the gateway's merged OpenAPI document."""
