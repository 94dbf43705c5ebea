"""A session gateway for NextAuth.js / Auth.js apps: per-role session policies at the edge."""

__version__ = "0.1.0"
