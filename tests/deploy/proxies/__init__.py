"""Helpers for the forward-auth proxy tests (nginx, Caddy) in tests/deploy."""
