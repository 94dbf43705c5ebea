// next-auth v4 as a real app would configure it: JWT sessions, a Credentials provider and a
// custom sign-in page. Nothing here knows about the gateway in front of it.
import CredentialsProvider from "next-auth/providers/credentials";

// Demo users for the end-to-end test (password: the user name). Never ship a table like this.
const USERS = {
  admin: { id: "admin", name: "Ada Admin", email: "admin@example.test", role: "admin" },
  general: { id: "general", name: "Gus General", email: "general@example.test", role: "general" },
};

export const authOptions = {
  session: { strategy: "jwt" },
  pages: { signIn: "/login" },
  providers: [
    CredentialsProvider({
      name: "Demo users",
      credentials: {
        username: { label: "User", type: "text" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials) {
        const user = Object.hasOwn(USERS, credentials?.username ?? "")
          ? USERS[credentials.username]
          : null;
        return user && credentials.password === user.id ? user : null;
      },
    }),
  ],
  callbacks: {
    // The role goes into the token once, at sign-in; every later call keeps the token as it
    // is (so claims the gateway adds, such as auth_time, survive the app's own re-issues).
    async jwt({ token, user }) {
      if (user) token.role = user.role;
      return token;
    },
    async session({ session, token }) {
      session.user.id = token.sub;
      session.user.role = token.role;
      session.issuedAt = token.iat; // lets a test see which cookie the app decoded
      // The sign-in time the gateway stamps into the cookie (a route has max_auth_age); null
      // behind a gateway that keeps no sign-in time, or with no gateway at all.
      session.signedInAt = token.auth_time ?? null;
      return session;
    },
  },
};
