"""Webhooks: subscriptions registered at the gateway, and the dispatcher that delivers events."""
