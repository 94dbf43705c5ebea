import { getServerSession } from "next-auth";
import { authOptions } from "../../lib/auth";

export const dynamic = "force-dynamic";

// A sensitive page: the gateway's route for it has max_auth_age, so a user who signed in
// too long ago is sent to sign in again before the app sees the request. The app can read
// when that was: the gateway keeps the sign-in time in the session cookie (auth_time).
export default async function BillingPage() {
  const session = await getServerSession(authOptions);
  return (
    <>
      <h1>Billing</h1>
      <p id="who">{session ? `Billing for ${session.user.id}` : "No NextAuth session"}</p>
      {session ? (
        <p id="signed-in-at" data-auth-time={session.signedInAt ?? ""}>
          Signed in at {session.signedInAt ?? "(unknown)"} (unix seconds).
        </p>
      ) : null}
    </>
  );
}
