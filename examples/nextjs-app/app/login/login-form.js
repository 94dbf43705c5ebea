"use client";

import { useEffect, useState } from "react";
import { signIn } from "next-auth/react";

export default function LoginForm({ callbackUrl }) {
  // Enabled once React has hydrated: a click before that would submit the form natively
  // (a GET with the password in the URL) instead of through signIn().
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // POSTs to /api/auth/callback/credentials, then goes to callbackUrl.
    await signIn("credentials", {
      username: form.get("username"),
      password: form.get("password"),
      callbackUrl,
    });
  }
  return (
    <form onSubmit={submit}>
      <p><label>User <input name="username" autoComplete="username" /></label></p>
      <p><label>Password <input name="password" type="password" autoComplete="current-password" /></label></p>
      <p><button type="submit" disabled={!ready}>Sign in</button></p>
      <p>Returning to <code id="callback">{callbackUrl}</code></p>
    </form>
  );
}
