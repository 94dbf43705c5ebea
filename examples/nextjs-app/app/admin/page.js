import { headers } from "next/headers";
import { getServerSession } from "next-auth";
import { authOptions } from "../../lib/auth";

export const dynamic = "force-dynamic";

// The identity headers the gateway forwards (config: identity_headers).
const IDENTITY = ["x-auth-request-user", "x-auth-request-email", "x-auth-request-role"];

export default async function AdminPage() {
  const received = await headers();
  const session = await getServerSession(authOptions);
  return (
    <>
      <h1>Admin</h1>
      <p id="who">{session ? `NextAuth session: ${session.user.id}` : "No NextAuth session"}</p>
      <h2>Identity headers received</h2>
      <table id="identity">
        <tbody>
          {IDENTITY.map((name) => (
            <tr key={name}>
              <th style={{ textAlign: "left" }}>{name}</th>
              <td data-header={name}>{received.get(name) ?? "(absent)"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
