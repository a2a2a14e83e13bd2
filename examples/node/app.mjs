// A builder's backend in Node.js that lets its signed-in users connect PagerDuty and then uses
// the connection: mint a link, confirm the return, get a token, call PagerDuty, and ask the user
// to reconnect when PagerDuty no longer accepts the connection.
//
//   PD_CONNECT_URL=<LandingUrl> PD_CONNECT_TOKEN_FUNCTION=<TokenFunctionArn> \
//   LINK_SIGNING_KEY_ID=<LinkSigningKeyArn> PORT=8000 node app.mjs
//
// Its AWS role needs lambda:InvokeFunction on the token function (TokenFunctionInvokePolicy) and
// secretsmanager:GetSecretValue on the link signing key; nothing on the table, the token key or
// the OAuth client secret. "Signing in" here is a stand-in for your own session handling.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";

import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SignJWT } from "jose";

import { TokenFunction, TokenFunctionError } from "./token_function.mjs";

const PAGERDUTY_ACCEPT = "application/vnd.pagerduty+json;version=2";
const KEY_CACHE_MS = 5 * 60 * 1000; // a rotated signing key is picked up within 5 minutes

function setting(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const connectUrl = setting("PD_CONNECT_URL").replace(/\/?$/, "/");
const tokens = new TokenFunction(setting("PD_CONNECT_TOKEN_FUNCTION"));
const linkSigningKeyId = setting("LINK_SIGNING_KEY_ID");
const secrets = new SecretsManagerClient({});
const sessions = new Map(); // session id -> your app's user id

let cachedKey = { value: null, until: 0 };
async function linkSigningKey() {
  if (Date.now() > cachedKey.until) {
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: linkSigningKeyId }));
    cachedKey = { value: JSON.parse(secret.SecretString).signing_key, until: Date.now() + KEY_CACHE_MS };
  }
  return new TextEncoder().encode(cachedKey.value);
}

// A link token (JWS, HS256) for the signed-in user: where the browser starts connecting.
export async function linkFor(appUserId, returnPath) {
  return new SignJWT({ ret: returnPath })
    .setProtectedHeader({ alg: "HS256", typ: "pd-connect-link+jwt" })
    .setSubject(appUserId)
    .setIssuedAt()
    .setExpirationTime("120s")
    .setJti(randomBytes(16).toString("base64url"))
    .sign(await linkSigningKey());
}

// GET {api_base}{path} as the user; on 401 ask for a token past the refused one, once.
async function callPagerDuty(appUserId, path) {
  let token = await tokens.getToken(appUserId);
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(token.api_base + path, {
      headers: { Authorization: `Bearer ${token.access_token}`, Accept: PAGERDUTY_ACCEPT },
    });
    if (response.status !== 401 || attempt > 0) return response;
    token = await tokens.getToken(appUserId, { rejectVersion: token.token_version });
  }
}

const routes = {
  "GET /login": async (request, url, respond) => {
    const user = url.searchParams.get("user") ?? "";
    if (!/^[A-Za-z0-9._:@+=|-]{1,128}$/.test(user)) return respond(400, { error: "user?" });
    const session = randomBytes(24).toString("base64url");
    sessions.set(session, user);
    respond(200, { signed_in: user }, { "Set-Cookie": `session=${session}; HttpOnly; SameSite=Lax; Path=/` });
  },
  "GET /connect": async (request, url, respond, user) => {
    const link = await linkFor(user, "/pagerduty/return");
    respond(302, null, { Location: `${connectUrl}authorize?link=${encodeURIComponent(link)}` });
  },
  // The browser comes back here; confirm inside *this* user's request, or the connection is discarded.
  "GET /pagerduty/return": async (request, url, respond, user) => {
    const result = url.searchParams.get("pagerduty_result");
    if (!result) return respond(400, { error: "no_result", reconnect: "/connect" });
    try {
      const connection = await tokens.confirm(result, user);
      respond(200, { connected: connection.connection, user_name: connection.user_name });
    } catch (error) {
      if (!(error instanceof TokenFunctionError)) throw error;
      respond(400, { error: error.code, message: error.message, reconnect: "/connect" });
    }
  },
  "GET /pagerduty/me": async (request, url, respond, user) => {
    try {
      const response = await callPagerDuty(user, "/users/me");
      const body = await response.json();
      respond(response.status, response.ok ? { name: body.user.name, email: body.user.email } : body);
    } catch (error) {
      if (!(error instanceof TokenFunctionError)) throw error;
      if (error.code === "needs_reauthorization" || error.code === "connection_not_found") {
        return respond(409, { error: error.code, reconnect: "/connect" }); // show "Reconnect PagerDuty"
      }
      respond(error.retryable ? 503 : 400, { error: error.code, message: error.message });
    }
  },
  "GET /pagerduty/status": async (request, url, respond, user) => {
    respond(200, await tokens.status(user));
  },
  "POST /pagerduty/disconnect": async (request, url, respond, user) => {
    const answer = await tokens.disconnect(user);
    respond(200, { deleted: answer.deleted, revoke_in_pagerduty: answer.revoke_in_pagerduty });
  },
};

function signedInUser(request) {
  const match = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.cookie ?? "");
  return match ? sessions.get(match[1]) : undefined;
}

const server = createServer(async (request, response) => {
  const url = new URL(request.url, "http://app.invalid");
  const respond = (status, body, headers = {}) => {
    response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
    response.end(body === null ? "" : JSON.stringify(body));
  };
  const route = routes[`${request.method} ${url.pathname}`];
  if (!route) return respond(404, { error: "not_found" });
  const user = signedInUser(request);
  if (!user && url.pathname !== "/login") return respond(401, { error: "sign_in_first" });
  try {
    await route(request, url, respond, user);
  } catch (error) {
    console.error(`${request.method} ${url.pathname} failed: ${error.name}`); // never the token
    respond(500, { error: "internal_error" });
  }
});

server.listen(Number(process.env.PORT ?? 8000), "127.0.0.1", () => {
  console.log(`example app on http://localhost:${server.address().port}`);
});
