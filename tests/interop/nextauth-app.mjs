#!/usr/bin/env node
// One request answered by a NextAuth app made of the REAL packages, for the interop tests:
// next-auth 4's Pages Router handler (the package's default export, `NextAuth(req, res, options)`)
// and its `getServerSession`, or @auth/core's `Auth(request, config)` (what next-auth 5 wraps).
//
//   app --flavor v4|v5 --secret S [--secret S2 ...] --now T [--max-age N] [--drop CLAIM ...]
//       [--user JSON]
//   stdin:  {"method": "GET", "path": "/api/auth/session?x=1", "headers": [[name, value], ...],
//            "body": "..."}
//   stdout: {"status": 200, "headers": [[name, value], ...], "body": "...",
//            "seen": claims the jwt callback got from the request's cookie, or null,
//            "written": claims of the session token the app wrote (its own decode), or null}
//
// Paths under /api/auth/ go to the package's handler (session, csrf, callback/credentials, ...).
// Paths under /static/ are files: nothing reads the session there. Any other path is a page whose server code reads the session the way each version does:
// next-auth 4's getServerSession(req, res, options), next-auth 5's auth() (a session request
// to @auth/core's Auth, its Set-Cookie copied onto the page). Both re-issue the session cookie,
// as the packages do on every read.
//
// The app: a Credentials provider whose authorize() returns --user (any username and password
// sign in), JWT sessions of --max-age seconds (30 days, the packages' default), and a jwt
// callback that copies the user's extra fields into the token at sign-in and otherwise returns
// the token as it came (the packages' default), minus the --drop claims (an app that builds a
// fresh token from a few fields). AUTH_TRUST_HOST is set: the origin, and so the __Secure-
// cookie names, come from X-Forwarded-Host / X-Forwarded-Proto as the gateway sends them.
//
// --now pins the clock for the whole call by swapping globalThis.Date (both packages and jose
// read the clock through it). Nothing is logged: never a token or a secret.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

process.env.AUTH_TRUST_HOST = "true";
process.env.NODE_ENV = "production";

const require = createRequire(import.meta.url);
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const BASE = "/api/auth";

function options(argv) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      flavor: { type: "string" },
      secret: { type: "string", multiple: true },
      now: { type: "string" },
      "max-age": { type: "string", default: String(30 * 86400) },
      drop: { type: "string", multiple: true, default: [] },
      user: { type: "string", default: '{"id": "user-1"}' },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== "app") throw new Error("expected: app");
  if (values.flavor !== "v4" && values.flavor !== "v5") throw new Error("--flavor v4|v5");
  if (!values.secret?.length) throw new Error("--secret is required");
  if (values.now === undefined) throw new Error("--now is required");
  return values;
}

function pinClock(seconds) {
  const RealDate = globalThis.Date;
  const ms = Number(seconds) * 1000;
  class PinnedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(ms);
      else super(...args);
    }
    static now() {
      return ms;
    }
  }
  globalThis.Date = PinnedDate;
}

// What the app's callbacks saw and wrote, for the test to compare.
const record = { seen: null, written: null };

function callbacks(opts) {
  const user = JSON.parse(opts.user);
  const { id, name, email, image, ...extra } = user;
  return {
    user,
    jwt({ token, user: signedIn }) {
      if (signedIn) Object.assign(token, extra);
      else record.seen = { ...token };
      for (const claim of opts.drop) delete token[claim];
      return token;
    },
  };
}

// The package's own encode, and its own decode of what it wrote (the claims as written).
function recording(jwt) {
  return {
    encode: async (params) => {
      const token = await jwt.encode(params);
      record.written = await jwt.decode({ ...params, token });
      return token;
    },
    decode: jwt.decode,
  };
}

function credentials(Credentials, user) {
  const provider = Credentials({
    credentials: { username: { label: "Username" }, password: { label: "Password" } },
    authorize: async () => user,
  });
  return provider;
}

function headerObject(pairs) {
  // Node's IncomingMessage.headers: lower-case names, repeated values joined (cookie with "; ").
  const out = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    if (key in out) out[key] += key === "cookie" ? `; ${value}` : `, ${value}`;
    else out[key] = value;
  }
  return out;
}

function parseBody(headers, body) {
  if (!body) return undefined;
  const type = headers["content-type"] ?? "";
  if (type.includes("application/json")) return JSON.parse(body);
  if (type.includes("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(body));
  }
  return body;
}

// The bits of Next's API response object next-auth 4 uses.
class PagesResponse {
  constructor() {
    this.statusCode = 200;
    this.headers = new Map();
    this.body = "";
  }
  status(code) {
    this.statusCode = code;
    return this;
  }
  setHeader(name, value) {
    this.headers.set(name.toLowerCase(), [name, value]);
    return this;
  }
  getHeader(name) {
    return this.headers.get(name.toLowerCase())?.[1];
  }
  end() {}
  send(body) {
    this.body = typeof body === "string" ? body : JSON.stringify(body ?? "");
  }
  json(body) {
    this.setHeader("Content-Type", "application/json");
    this.body = JSON.stringify(body);
  }
  pairs() {
    const out = [];
    for (const [name, value] of this.headers.values()) {
      for (const one of Array.isArray(value) ? value : [value]) out.push([name, String(one)]);
    }
    return out;
  }
}

async function v4App(opts, input) {
  const NextAuth = require("next-auth").default;
  const { getServerSession } = require("next-auth/next");
  const Credentials = require("next-auth/providers/credentials").default;
  const jwt = require("next-auth/jwt");
  const cookie = require(require.resolve("cookie", { paths: [require.resolve("next-auth")] }));
  if (opts.secret.length !== 1) throw new Error("v4 takes exactly one --secret");
  const { user, jwt: jwtCallback } = callbacks(opts);
  const authOptions = {
    secret: opts.secret[0],
    providers: [credentials(Credentials, user)],
    session: { strategy: "jwt", maxAge: Number(opts["max-age"]) },
    jwt: recording(jwt),
    callbacks: { jwt: jwtCallback },
    logger: silent,
  };
  const url = new URL(input.path, "http://app.invalid");
  const headers = headerObject(input.headers);
  const req = {
    method: input.method,
    headers,
    cookies: cookie.parse(headers.cookie ?? ""),
    body: parseBody(headers, input.body),
    query: Object.fromEntries(url.searchParams),
  };
  const res = new PagesResponse();
  if (url.pathname.startsWith(`${BASE}/`)) {
    req.query.nextauth = url.pathname.slice(BASE.length + 1).split("/");
    await NextAuth(req, res, authOptions);
  } else {
    const session = await getServerSession(req, res, authOptions);
    res.json({ page: url.pathname, session });
  }
  return { status: res.statusCode, headers: res.pairs(), body: res.body };
}

async function v5App(opts, input) {
  const { Auth } = await import("@auth/core");
  const Credentials = (await import("@auth/core/providers/credentials")).default;
  const jwt = await import("@auth/core/jwt");
  const { user, jwt: jwtCallback } = callbacks(opts);
  const config = {
    secret: opts.secret.length === 1 ? opts.secret[0] : opts.secret,
    basePath: BASE,
    trustHost: true,
    providers: [credentials(Credentials, user)],
    session: { strategy: "jwt", maxAge: Number(opts["max-age"]) },
    jwt: recording(jwt),
    callbacks: { jwt: jwtCallback },
    logger: silent,
  };
  const headers = new Headers(input.headers);
  const host = headers.get("x-forwarded-host") ?? headers.get("host") ?? "app.invalid";
  const proto = headers.get("x-forwarded-proto") === "https" ? "https" : "http";
  const url = new URL(input.path, `${proto}://${host}`);
  const init = { method: input.method, headers };
  if (input.body && !["GET", "HEAD"].includes(input.method)) init.body = input.body;
  if (url.pathname.startsWith(`${BASE}/`)) {
    return fromResponse(await Auth(new Request(url, init), config));
  }
  // next-auth 5's auth(): a session request with the page request's headers.
  const session = await Auth(new Request(new URL(`${BASE}/session`, url), { headers }), config);
  const page = { page: url.pathname, session: await session.json() };
  const pairs = session.headers.getSetCookie().map((line) => ["Set-Cookie", line]);
  return { status: 200, headers: [["Content-Type", "application/json"], ...pairs], body: JSON.stringify(page) };
}

async function fromResponse(response) {
  const pairs = [];
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") pairs.push([name, value]);
  }
  for (const line of response.headers.getSetCookie()) pairs.push(["Set-Cookie", line]);
  return { status: response.status, headers: pairs, body: await response.text() };
}

const STATIC = { status: 200, headers: [["Content-Type", "text/plain"]], body: "a file" };

async function main() {
  const opts = options(process.argv.slice(2));
  const input = JSON.parse(readFileSync(0, "utf8"));
  pinClock(opts.now);
  const app = opts.flavor === "v4" ? v4App : v5App;
  const answer = input.path.startsWith("/static/") ? STATIC : await app(opts, input);
  process.stdout.write(`${JSON.stringify({ ...answer, ...record })}\n`);
}

main().catch((error) => {
  // The error's class and message only: never the token or the secret.
  process.stderr.write(`${error?.code ?? error?.name ?? "Error"}: ${error?.message ?? error}\n`);
  process.exit(1);
});
