"""The `make run` demo: a small upstream app with a login page, in front of which the gateway
runs on the embedded default config. Never for production: its login page lets anyone pick
the admin user, which is why the loader refuses the demo secret outside ``demo: true``."""
