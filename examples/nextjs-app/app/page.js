import { getServerSession } from "next-auth";
import { authOptions } from "../lib/auth";

export const dynamic = "force-dynamic";

export default async function Home() {
  const session = await getServerSession(authOptions);
  return (
    <>
      <h1>Home</h1>
      <p id="who">
        {session ? `Signed in as ${session.user.id} (${session.user.role})` : "Not signed in"}
      </p>
    </>
  );
}
