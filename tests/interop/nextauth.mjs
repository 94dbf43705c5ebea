#!/usr/bin/env node
// A small CLI over the REAL next-auth (v4) and @auth/core (v5) packages, for the interop tests.
//
//   encode --flavor v4|v5 --secret S [--secret S2 ...] [--salt NAME] [--max-age N] [--iat T]
//          stdin: claims JSON            stdout: the token
//   decode --flavor v4|v5 --secret S [--secret S2 ...] [--salt NAME] [--now T]
//          stdin: the token              stdout: the claims JSON (exit 1 and a message on failure)
//   chunk  --flavor v4|v5 --name NAME [--secure] [--domain D] [--expires T]
//          stdin: {"value": token, "cookie": request Cookie header}
//          stdout: JSON list of Set-Cookie values, as the package's SessionStore.chunk() and
//                  its own cookie serializer write them
//   clean  --flavor v4|v5 --name NAME [--secure]   stdin: {"cookie": ...}   stdout: like chunk
//   read   --flavor v4|v5 --name NAME              stdin: a request Cookie header
//          stdout: {"value": the value SessionStore joins}
//
// Only v5 takes several secrets (rotation). --iat / --now pin the clock for one call by
// swapping globalThis.Date (both packages and jose read the clock through it).
//
// The SessionStore modules are not in either package's "exports" map, so they are loaded by
// file path (which Node allows: the exports map only guards bare specifiers).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = (path) => new URL(path, import.meta.url);
const file = (path) => fileURLToPath(here(path));

const v4 = {
  jwt: require("next-auth/jwt"),
  store: require(file("./node_modules/next-auth/core/lib/cookie.js")),
  // next-auth 4 serializes with its own `cookie` dependency (next/utils.js).
  cookie: require(require.resolve("cookie", { paths: [file("./node_modules/next-auth/")] })),
};
const v5 = {
  jwt: await import("@auth/core/jwt"),
  store: await import(here("./node_modules/@auth/core/lib/utils/cookie.js")),
  cookie: await import(here("./node_modules/@auth/core/lib/vendored/cookie.js")),
};

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function options(argv) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      flavor: { type: "string" },
      secret: { type: "string", multiple: true },
      salt: { type: "string" },
      "max-age": { type: "string" },
      iat: { type: "string" },
      now: { type: "string" },
      name: { type: "string" },
      secure: { type: "boolean", default: false },
      domain: { type: "string" },
      expires: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new Error("expected one command");
  if (values.flavor !== "v4" && values.flavor !== "v5") throw new Error("--flavor v4|v5");
  return { command: positionals[0], ...values };
}

// Run fn with the clock pinned at `seconds` (unix time), then restore the real Date.
async function at(seconds, fn) {
  if (seconds === undefined) return fn();
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
  try {
    return await fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

function secretOf(opts) {
  if (!opts.secret?.length) throw new Error("--secret is required");
  if (opts.flavor === "v4") {
    if (opts.secret.length !== 1) throw new Error("v4 takes exactly one --secret");
    return opts.secret[0];
  }
  return opts.secret.length === 1 ? opts.secret[0] : opts.secret;
}

function jwtParams(opts) {
  const params = { secret: secretOf(opts) };
  if (opts.salt !== undefined) params.salt = opts.salt;
  if (opts["max-age"] !== undefined) params.maxAge = Number(opts["max-age"]);
  return params;
}

async function encode(opts, input) {
  const { jwt } = opts.flavor === "v4" ? v4 : v5;
  const token = JSON.parse(input);
  return at(opts.iat, () => jwt.encode({ ...jwtParams(opts), token }));
}

async function decode(opts, input) {
  const { jwt } = opts.flavor === "v4" ? v4 : v5;
  const payload = await at(opts.now, () => jwt.decode({ ...jwtParams(opts), token: input.trim() }));
  if (!payload) throw new Error("decode returned nothing");
  return JSON.stringify(payload);
}

// The request cookies the way each package receives them: v5 parses the header with its
// vendored `cookie`; next-auth 4 gets Next's req.cookies, an object from `cookie.parse`.
function sessionStore(opts, header) {
  if (!opts.name) throw new Error("--name is required");
  const option = { name: opts.name, options: sessionOptions(opts) };
  if (opts.flavor === "v4") {
    return new v4.store.SessionStore(option, { cookies: v4.cookie.parse(header) }, silent);
  }
  return new v5.store.SessionStore(option, v5.cookie.parse(header), silent);
}

function sessionOptions(opts) {
  const { sessionToken } = (opts.flavor === "v4" ? v4 : v5).store.defaultCookies(opts.secure);
  return opts.domain ? { ...sessionToken.options, domain: opts.domain } : sessionToken.options;
}

function serialize(opts, cookies) {
  const { cookie } = opts.flavor === "v4" ? v4 : v5;
  return JSON.stringify(cookies.map((c) => cookie.serialize(c.name, c.value, c.options)));
}

function chunk(opts, input) {
  const { value, cookie = "" } = JSON.parse(input);
  const extra = opts.expires === undefined ? {} : { expires: new Date(Number(opts.expires) * 1000) };
  return serialize(opts, sessionStore(opts, cookie).chunk(value, extra));
}

function clean(opts, input) {
  const { cookie = "" } = JSON.parse(input);
  return serialize(opts, sessionStore(opts, cookie).clean());
}

function read(opts, input) {
  return JSON.stringify({ value: sessionStore(opts, input.replace(/\r?\n$/, "")).value });
}

const commands = { encode, decode, chunk, clean, read };

async function main() {
  const opts = options(process.argv.slice(2));
  const command = commands[opts.command];
  if (!command) throw new Error(`unknown command ${opts.command}`);
  process.stdout.write(`${await command(opts, readFileSync(0, "utf8"))}\n`);
}

main().catch((error) => {
  // The error's class and message only: never the token or the secret.
  process.stderr.write(`${error?.code ?? error?.name ?? "Error"}: ${error?.message ?? error}\n`);
  process.exit(1);
});
