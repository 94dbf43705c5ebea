import LoginForm from "./login-form";

export const dynamic = "force-dynamic";

// Not failures of a sign-in: useSession({ required: true }) sends a tab here with
// SessionRequired once its session has ended (the polling dashboard, after the idle limit).
const ERRORS = { SessionRequired: "Your session has ended; sign in again." };

// The gateway sends signed-out users here with ?callbackUrl=<where they were going>.
export default async function LoginPage({ searchParams }) {
  const { callbackUrl, error } = await searchParams;
  return (
    <>
      <h1>Sign in</h1>
      {error ? (
        <p id="error">
          {Object.hasOwn(ERRORS, error) ? ERRORS[error] : `Sign-in failed (${String(error)})`}
        </p>
      ) : null}
      <p>
        Demo users: <code>admin</code> / <code>admin</code> and <code>general</code> /{" "}
        <code>general</code>.
      </p>
      <LoginForm callbackUrl={typeof callbackUrl === "string" ? callbackUrl : "/"} />
    </>
  );
}
