import { headers } from "next/headers";
import { getServerSession } from "next-auth";
import { authOptions } from "../../../lib/auth";

export const dynamic = "force-dynamic";

// The session as the app reads it, and the user the gateway says is calling.
export async function GET() {
  const session = await getServerSession(authOptions);
  const user = (await headers()).get("x-auth-request-user");
  return Response.json({ session, gatewayUser: user }, { status: session ? 200 : 401 });
}
