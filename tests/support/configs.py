"""Gateway config files as text: one builder for the YAML the tests load or hand to a
``gateway run`` process.

:func:`config_text` writes the sections in one fixed order and layout, so a test that
expects a line number (``t.yaml:8: policies.admin...``) or edits one line of the text gets
the same text every time::

    listen: 127.0.0.1:8080
    metrics_listen: 127.0.0.1:9091
    upstream: http://127.0.0.1:3000
    session:                                  (or, one_line_session:
      flavor: nextauth-v4                      session: { flavor: ..., secrets: [...] })
      secrets: ["..."]
      <session_options, one a line>
    login: { <login> }                        (only when given)
    policies:
      admin: { max_age: 2h, update_age: 1h, absolute_max_age: 12h }
      general: { max_age: 1d, update_age: 6h }
    default_policy: general
    routes:
      - { name: login, path: /login, public: true }
      - { name: admin, path: /admin/, roles: [admin] }
      - { name: app, path: / }
    <extra, as given>

Every part is a parameter; the defaults are the small config most tests start from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

POLICIES: Mapping[str, str] = {
    "admin": "max_age: 2h, update_age: 1h, absolute_max_age: 12h",
    "general": "max_age: 1d, update_age: 6h",
}
ROUTES: Sequence[str] = (
    "name: login, path: /login, public: true",
    "name: admin, path: /admin/, roles: [admin]",
    "name: app, path: /",
)


def config_text(
    *,
    secrets: Sequence[str],
    listen: str = "127.0.0.1:8080",
    metrics_listen: str = "127.0.0.1:9091",
    upstream: str = "http://127.0.0.1:3000",
    flavor: str = "nextauth-v4",
    session_options: Mapping[str, str] | None = None,
    one_line_session: bool = False,
    login: str | None = None,
    policies: Mapping[str, str] = POLICIES,
    default_policy: str = "general",
    routes: Sequence[str] = ROUTES,
    extra: str = "",
) -> str:
    """The text of a config file.

    ``secrets`` are written as a JSON list (so ``"${VAR}"`` stays a reference to the
    environment); ``session_options`` are more ``session:`` keys (``role_claim``, ``cookie``)
    with their YAML values. ``login``, each policy and each route are the inside of a flow
    mapping (``"url: /login"``, ``"max_age: 1d"``, ``"name: app, path: /"``). ``extra`` is
    appended as it is: the further top-level sections (``timeouts:``, ``log:``, ...), each
    line ending in a newline."""
    session = {"flavor": flavor, "secrets": json.dumps(list(secrets)), **(session_options or {})}
    if one_line_session:
        lines = ["session: { " + ", ".join(f"{k}: {v}" for k, v in session.items()) + " }"]
    else:
        lines = ["session:", *(f"  {key}: {value}" for key, value in session.items())]
    if login is not None:
        lines.append(f"login: {{ {login} }}")
    lines.append("policies:")
    lines += [f"  {name}: {{ {body} }}" for name, body in policies.items()]
    lines.append(f"default_policy: {default_policy}")
    lines.append("routes:")
    lines += [f"  - {{ {route} }}" for route in routes]
    head = [f"listen: {listen}", f"metrics_listen: {metrics_listen}", f"upstream: {upstream}"]
    return "\n".join(head + lines) + "\n" + extra
