export const metadata = { title: "Gateway example app" };

// System fonts only: nothing is fetched at build time.
const body = { fontFamily: "system-ui, sans-serif", margin: "2rem auto", maxWidth: "44rem" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body style={body}>
        <nav>
          <a href="/">Home</a> · <a href="/admin">Admin</a> ·{" "}
          <a href="/admin/watch">Dashboard (polling)</a> · <a href="/billing">Billing</a> ·{" "}
          <a href="/login">Sign in</a> · <a href="/api/me">/api/me</a>
        </nav>
        <main>{children}</main>
      </body>
    </html>
  );
}
