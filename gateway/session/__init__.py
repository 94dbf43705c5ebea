"""The session cookie."""
