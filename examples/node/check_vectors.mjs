// Checks the README's token test vectors with jose, an independent JWT library: every compact
// JWS in README.md must verify (HS256, its explicit typ) with the key named before it
// ("key `...`"), and carry the registered claims. Prints one JSON line per vector.
//
//   node check_vectors.mjs [path/to/README.md]
import { readFileSync } from "node:fs";

import { decodeProtectedHeader, jwtVerify } from "jose";

const readme = readFileSync(process.argv[2] ?? new URL("../../README.md", import.meta.url), "utf8");
const JWS = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/g;
const KEY = /key `([^`]{32,})`/g;

let failures = 0;
const found = [...readme.matchAll(JWS)];
for (const match of found) {
  const keys = [...readme.slice(0, match.index).matchAll(KEY)];
  const key = keys.length ? keys[keys.length - 1][1] : null;
  const header = decodeProtectedHeader(match[0]);
  try {
    if (!key) throw new Error("no key `...` before it in the README");
    const claims = JSON.parse(Buffer.from(match[0].split(".")[1], "base64url").toString("utf8"));
    const { payload, protectedHeader } = await jwtVerify(match[0], new TextEncoder().encode(key), {
      algorithms: ["HS256"],
      typ: header.typ,
      requiredClaims: ["sub", "iat", "exp", "jti"],
      currentDate: new Date((claims.iat ?? 0) * 1000), // vectors are fixed in time
    });
    if (!protectedHeader.typ) throw new Error("no explicit typ");
    console.log(JSON.stringify({ ok: true, typ: protectedHeader.typ, claims: payload }));
  } catch (error) {
    failures++;
    console.log(JSON.stringify({ ok: false, typ: header.typ ?? null, error: `${error.code ?? error.name}: ${error.message}` }));
  }
}
if (found.length === 0) {
  console.log(JSON.stringify({ ok: false, error: "no test vector found in the README" }));
  failures++;
}
process.exit(failures ? 1 : 0);
