import Watcher from "./watcher";

export const dynamic = "force-dynamic";

// A dashboard left open: its SessionProvider polls /api/auth/session every second, and the
// app re-issues the session cookie on every poll. The gateway's passive route for that
// endpoint keeps the idle clock where it was, so an admin who does nothing is still signed
// out once the admin policy's max_age has passed.
export default function WatchPage() {
  return (
    <>
      <h1>Admin dashboard (polling)</h1>
      <Watcher />
    </>
  );
}
