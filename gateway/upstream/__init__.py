"""Forwarding to the upstream."""
