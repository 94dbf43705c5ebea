"use client";

import { useEffect, useState } from "react";
import { SessionProvider, useSession } from "next-auth/react";

function Status() {
  // required: once a poll finds no session, next-auth sends the tab to its sign-in route
  // (/api/auth/signin?error=SessionRequired&callbackUrl=<this page>), which redirects to
  // the app's login page. No click is needed: the idle tab ends there by itself.
  const { data, status } = useSession({ required: true });
  // Every poll hands over a new session object: counting them shows the tab is polling
  // while the cookie's iat (the idle clock, which the gateway holds back) stays put.
  const [polls, setPolls] = useState(0);
  useEffect(() => {
    if (data) setPolls((n) => n + 1);
  }, [data]);
  return (
    <>
      <p id="status" data-status={status}>
        {data ? `Signed in as ${data.user.id}` : status}
      </p>
      {data ? (
        <p id="idle-clock" data-iat={data.issuedAt} data-polls={polls}>
          Session answers received: {polls}; the cookie says it was issued at {data.issuedAt}{" "}
          (unix seconds), which is when you were last active.
        </p>
      ) : null}
    </>
  );
}

export default function Watcher() {
  // refetchInterval in seconds: a poll every second, as a dashboard left open would do.
  return (
    <SessionProvider refetchInterval={1} refetchOnWindowFocus>
      <Status />
    </SessionProvider>
  );
}
