"""The demo's polling page (``/admin/watch``): a tab that does what a NextAuth
``SessionProvider`` with ``refetchInterval`` does, calling ``/api/auth/session`` every two
seconds, and shows the session's times as the gateway sees them (``/_gateway/session``, which
never renews). The app re-issues the cookie on every poll; the session route is passive, so
the gateway keeps its ``iat``, and the tab is signed out once the idle window has passed."""

from __future__ import annotations

POLL_SECONDS = 2

SCRIPT = """
const shown = (id, text) => { document.getElementById(id).textContent = text; };
const clock = (t) => t === null ? "-" : new Date(t * 1000).toLocaleTimeString();
const left = (t) => Math.max(0, Math.round(t - Date.now() / 1000));
let polls = 0;
async function poll() {
  const app = await fetch("/api/auth/session", {headers: {Accept: "application/json"}});
  const session = await app.json();
  polls += 1;
  shown("polls", String(polls));
  if (!session.user) {
    location.href = "/login?callbackUrl=" + encodeURIComponent(location.pathname);
    return;
  }
  shown("app-expires", session.expires);
  const own = await fetch("/_gateway/session", {headers: {Accept: "application/json"}});
  if (!own.ok) return;
  const view = await own.json();
  shown("auth-time", clock(view.auth_time));
  shown("expires-at", clock(view.expires_at) + " (in " + left(view.expires_at) + " s)");
}
poll();
setInterval(poll, POLL_SECONDS * 1000);
"""


def watch_body(max_age: int) -> str:
    """The page's body; ``max_age``: the admin policy's idle window, in seconds."""
    rows = "".join(
        f"<tr><th>{label}</th><td id={key}>-</td></tr>"
        for key, label in (
            ("polls", "polls of /api/auth/session"),
            ("app-expires", "the app's own expires (it re-issues on every poll)"),
            ("auth-time", "signed in at (auth_time)"),
            ("expires-at", "signed out at, if you only poll"),
        )
    )
    script = SCRIPT.replace("POLL_SECONDS", str(POLL_SECONDS))
    return (
        f"<p>This tab asks the app for its session every {POLL_SECONDS} seconds, as a "
        "NextAuth SessionProvider does, and the app answers each poll with a new cookie. "
        "The gateway keeps that cookie's <code>iat</code>: a poll is not you. Leave the tab "
        f"alone for {max_age} s and it is sent to the login page; open any other page "
        "meanwhile and the session is renewed.</p>"
        f"<table>{rows}</table><p><a href=/>Home</a></p><script>{script}</script>"
    )
