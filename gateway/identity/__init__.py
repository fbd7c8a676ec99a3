"""Identity: users, teams, refresh tokens and API keys, in the `identity` schema."""
