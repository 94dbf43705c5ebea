"""``gateway explain``: one cookie, one path, one moment, told with the gateway's own stages.

:func:`explain` runs what the pipeline runs (the cookie reader and codec through
:class:`~gateway.session.SessionStage`, the route matcher, :func:`~gateway.policy.evaluate`)
and adds only arithmetic for display, so what it says is what the gateway would do. It reads
nothing but its arguments. The claims are shown in full (it is the operator's own token); the
secrets never are, only which one decrypted, by position.

Inside: ``outcome`` (the explanation itself), ``reasons`` (what each reason id means),
``times``, and the two renderings ``as_text`` and ``as_json``.
"""

from gateway.explain.as_json import render_json
from gateway.explain.as_text import render_text
from gateway.explain.outcome import Explanation, explain, read_cookie
from gateway.explain.reasons import meaning
from gateway.explain.times import OUT_OF_RANGE, iso, parse_time, relative

__all__ = [
    "OUT_OF_RANGE",
    "Explanation",
    "explain",
    "iso",
    "meaning",
    "parse_time",
    "read_cookie",
    "relative",
    "render_json",
    "render_text",
]
