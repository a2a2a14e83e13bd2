"""The pinned mutants: one deliberate bug each in the security- and correctness-critical code of
functions/, and the tests that must catch it. A mutant whose text no longer matches its file is
reported as stale (the code moved on): update the text with the code, never drop the mutant
silently.

Each mutant is a list of (exact text, replacement) edits to one file; most need two, because
DynamoDB refuses an expression value the expression no longer uses.
"""

from __future__ import annotations

from dataclasses import dataclass

STORE_TESTS = (
    "tests/moto/test_refresh_interleavings.py",
    "tests/moto/test_token_storage.py",
    "tests/moto/test_access_tokens.py",
    "tests/reliability/test_token_refresh_faults.py",
)
FLOW_TESTS = (
    "tests/moto/test_connect_flow.py",
    "tests/moto/test_pending_authorizations.py",
    "tests/moto/test_linked_flow.py",
    "tests/moto/test_sample_events.py",
)
WEB_TESTS = ("tests/unit/test_web.py", "tests/moto/test_connect_flow.py")
UNIT_TESTS = ("tests/unit",)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # under functions/
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]
    why: str  # what would go wrong in production


CONNECTIONS = "pd_connect/vault/connections.py"
ACCESS_TOKENS = "pd_connect/client/access_tokens.py"

MUTANTS = (
    # --- the refresh lease and the conditional writes (connections.py) -------------------------
    Mutant(
        "lease-without-version", CONNECTIONS,
        (('"token_version = :version AND needs_reauthorization = :false "', '"needs_reauthorization = :false "'),
         ('                ":version": {"N": str(version)},\n                ":now"', '                ":now"')),
        STORE_TESTS, "a stale caller leases after the winner's write and refreshes a rotated token",
    ),
    Mutant(
        "lease-over-a-live-lease", CONNECTIONS,
        (("OR refresh_lease_until < :now)", "OR refresh_lease_until < :until)"),
         ('                ":now": {"N": str(now)},\n', "")),
        STORE_TESTS, "two callers refresh at once; one of them gets invalid_grant",
    ),
    Mutant(
        "lease-on-a-connection-needing-reauthorization", CONNECTIONS,
        (('"token_version = :version AND needs_reauthorization = :false "', '"token_version = :version "'),
         ('                ":false": {"BOOL": False},\n', "")),
        STORE_TESTS, "a refused refresh token is presented to PagerDuty again and again",
    ),
    Mutant(
        "refreshed-write-without-owner", CONNECTIONS,
        (('ConditionExpression="token_version = :version AND refresh_lease_owner = :owner",',
          'ConditionExpression="token_version = :version",'),
         ('            ":owner": {"S": owner},\n            ":now": {"S": _now_iso(self._clock)},\n        }\n        expression',
          '            ":now": {"S": _now_iso(self._clock)},\n        }\n        expression')),
        STORE_TESTS, "a caller whose lease lapsed overwrites the new holder's lease",
    ),
    Mutant(
        "refreshed-write-without-version", CONNECTIONS,
        (('ConditionExpression="token_version = :version AND refresh_lease_owner = :owner",',
          'ConditionExpression="refresh_lease_owner = :owner",'),
         ('            ":version": {"N": str(version)},\n            ":owner": {"S": owner},\n            ":now": {"S"',
          '            ":owner": {"S": owner},\n            ":now": {"S"')),
        STORE_TESTS, "a refresh overwrites a reconnect that landed meanwhile",
    ),
    Mutant(
        "refresh-keeps-the-version", CONNECTIONS,
        (("new_version = version + 1", "new_version = version"),),
        STORE_TESTS, "a decrypted token cached under the old version is served after rotation",
    ),
    Mutant(
        "reconnect-without-seen-guard", CONNECTIONS,
        (('condition, values = "token_version = :seen", {":seen": {"N": version}}',
          'condition, values = "attribute_exists(pk)", None'),),
        STORE_TESTS, "a reconnect silently undoes a refresh that landed after it read the record",
    ),
    Mutant(
        "reconnect-forgets-created-at", CONNECTIONS,
        (('item["created_at"] = old.get("created_at", item["created_at"])', "pass"),),
        STORE_TESTS, "a reconnect looks like a new connection to operators",
    ),
    Mutant(
        "mark-without-owner", CONNECTIONS,
        (('"REMOVE refresh_lease_until, refresh_lease_owner"\n            ),\n            ConditionExpression="refresh_lease_owner = :owner",',
          '"REMOVE refresh_lease_until, refresh_lease_owner"\n            ),\n            ConditionExpression="attribute_exists(pk) OR refresh_lease_owner = :owner",'),),
        STORE_TESTS, "a caller that lost its lease marks a connection another caller just refreshed",
    ),
    Mutant(
        "release-without-owner", CONNECTIONS,
        (('UpdateExpression="REMOVE refresh_lease_until, refresh_lease_owner",\n            ConditionExpression="refresh_lease_owner = :owner",',
          'UpdateExpression="REMOVE refresh_lease_until, refresh_lease_owner",\n            ConditionExpression="attribute_exists(pk) OR refresh_lease_owner = :owner",'),),
        STORE_TESTS, "a caller releases a lease someone else now holds",
    ),
    Mutant(
        "find-ignores-the-kind", CONNECTIONS,
        (('if item and item.get("kind") == {"S": "connection"} else None', "if item else None"),),
        STORE_TESTS, "another kind of item under a connection's key is read as a connection",
    ),
    Mutant(
        "find-eventually-consistent", CONNECTIONS,
        (("ConsistentRead=True)", "ConsistentRead=False)"),),
        STORE_TESTS, "a caller reads the record from before a refresh and refreshes a rotated token",
    ),
    # --- access_tokens.py ----------------------------------------------------------------------
    Mutant(
        "no-refresh-margin", ACCESS_TOKENS,
        (("access_token_expires_at - REFRESH_MARGIN_SECONDS > self._clock()", "access_token_expires_at > self._clock()"),),
        STORE_TESTS, "tokens are handed out seconds before they expire",
    ),
    Mutant(
        "refused-version-served-again", ACCESS_TOKENS,
        (("if fresh_enough and record.token_version != reject_version:", "if fresh_enough:"),),
        STORE_TESTS, "after a 401 the same refused token is returned",
    ),
    Mutant(
        "invalid-grant-not-marked", ACCESS_TOKENS,
        (('self._store.mark_needs_reauthorization(key, owner=owner, reason="invalid_grant on refresh")',
          "self._store.release_lease(key, owner=owner)"),),
        STORE_TESTS, "a dead connection is refreshed against PagerDuty on every call",
    ),
    Mutant(
        "lease-kept-when-pagerduty-is-down", ACCESS_TOKENS,
        (("            self._store.release_lease(key, owner=owner)\n            if record.connection", "            if record.connection"),),
        STORE_TESTS, "every caller waits out the lease after a PagerDuty blip",
    ),
    Mutant(
        "decrypted-cache-ignores-the-version", ACCESS_TOKENS,
        (("if cached and cached[0] == record.token_version:", "if cached:"),),
        STORE_TESTS, "a warm container serves tokens another container has rotated",
    ),
    # --- the token endpoint: a rotated client secret -------------------------------------------
    Mutant("rotated-secret-not-retried", "pd_connect/oauth/token_endpoint.py",
           (("            if fresh == secret:\n                raise\n", "            raise\n"),),
           ("tests/unit/test_token_endpoint.py", "tests/moto/test_access_tokens.py", "tests/moto/test_connect_flow.py"),
           "a rotated client secret fails every callback and refresh until the 5-minute cache expires"),
    Mutant("invalid-client-retried-with-the-same-secret", "pd_connect/oauth/token_endpoint.py",
           (("            if fresh == secret:\n                raise\n", ""),),
           ("tests/unit/test_token_endpoint.py",),
           "every invalid_client costs PagerDuty a second identical call"),
    # --- the HTTP edge (web.py) ----------------------------------------------------------------
    Mutant("no-cross-origin-opener-policy", "pd_connect/platform/web.py",
           (('    "Cross-Origin-Opener-Policy": "same-origin",\n', ""),), WEB_TESTS, "pages open to cross-origin openers"),
    Mutant("no-x-frame-options", "pd_connect/platform/web.py",
           (('    "X-Frame-Options": "DENY",\n', ""),), WEB_TESTS, "pages can be framed by older browsers"),
    Mutant("no-nosniff", "pd_connect/platform/web.py",
           (('    "X-Content-Type-Options": "nosniff",\n', ""),), WEB_TESTS, "responses can be content-sniffed"),
    Mutant("exception-message-logged", "pd_connect/flow/failures.py",
           (("return ConnectFailure(Reason.UNEXPECTED, type(error).__name__)",
             'return ConnectFailure(Reason.UNEXPECTED, f"{type(error).__name__}: {error}")'),),
           WEB_TESTS + ("tests/unit/test_failure_mapping.py",), "third-party error messages quoting request data reach the logs"),
    Mutant("layer-error-detail-in-its-message", "pd_connect/platform/errors.py",
           (("super().__init__(type(self).__name__)", "super().__init__(detail)"),),
           ("tests/unit/test_failure_mapping.py",), "a logger that prints the exception prints the detail too"),
    Mutant("any-method-served", "pd_connect/platform/web.py",
           (("if request.method not in methods:", "if False:"),), WEB_TESTS, "POSTs run the flow"),
    Mutant("head-runs-every-route", "pd_connect/platform/web.py",
           (('self._routes[path] = (route, ("GET", "HEAD") if head else ("GET",))', 'self._routes[path] = (route, ("GET", "HEAD"))'),),
           WEB_TESTS, "a link checker's HEAD starts or finishes a flow"),
    Mutant("repeated-parameter-accepted", "pd_connect/platform/web.py",
           (("if len(values) > 1:", "if False:"),), WEB_TESTS, "which of two states is checked becomes ambiguous"),
    Mutant("query-length-unbounded", "pd_connect/platform/web.py",
           (("if len(raw) > MAX_QUERY_LENGTH:", "if False:"),), WEB_TESTS + ("tests/reliability/test_hostile_input.py",),
           "huge query strings are parsed"),
    # --- the routes (flow/start_app.py, flow/callback_app.py) ------------------------------------
    Mutant("new-binding-on-every-authorize", "pd_connect/flow/start_app.py",
           (("        binding = request.cookies.get(browser_binding.COOKIE_NAME)\n        if not browser_binding.is_well_formed(binding):\n            binding = browser_binding.new_binding()",
             "        binding = browser_binding.new_binding()"),),
           FLOW_TESTS, "a second tab's start breaks the first tab's flow"),
    Mutant("anonymous-always-allowed", "pd_connect/flow/start_app.py",
           (("if link is None and not settings.allow_anonymous:", "if False:"),),
           FLOW_TESTS, "anonymous connections are made when the builder turned them off"),
    Mutant("state-length-unbounded", "pd_connect/flow/callback_app.py",
           (("if len(state) > 256:", "if False:"),), FLOW_TESTS + ("tests/reliability/test_hostile_input.py",),
           "arbitrarily long states are hashed and looked up"),
    Mutant("a-5xx-clears-the-binding", "pd_connect/flow/callback_app.py",
           (("            if failure.reason.status < 500:\n                failure.cookies = CLEAR_BINDING", "            failure.cookies = CLEAR_BINDING"),),
           FLOW_TESTS + ("tests/reliability/test_dependency_faults.py",), "a reload cannot finish after an outage"),
    # --- pending authorizations and the browser binding ----------------------------------------
    Mutant("consume-ignores-the-binding", "pd_connect/flow/pending_authorizations.py",
           (('"attribute_exists(pk) AND binding_hash = :binding AND expires_at > :now"', '"attribute_exists(pk) AND expires_at > :now"'),
            ('                    ":binding": {"S": binding_hash},\n', "")),
           FLOW_TESTS, "a leaked state is completed in an attacker's browser (login CSRF)"),
    Mutant("consume-ignores-expiry", "pd_connect/flow/pending_authorizations.py",
           (('"attribute_exists(pk) AND binding_hash = :binding AND expires_at > :now"', '"attribute_exists(pk) AND binding_hash = :binding"'),
            ('                    ":now": {"N": str(now)},\n', "")),
           FLOW_TESTS, "a pending authorization outlives its ten minutes (DynamoDB's TTL is lazy)"),
    Mutant("malformed-binding-accepted", "pd_connect/flow/browser_binding.py",
           (("return bool(value) and bool(_WELL_FORMED.fullmatch(value))", "return bool(value)"),),
           UNIT_TESTS + FLOW_TESTS, "any cookie value is taken as a binding"),
    Mutant("binding-cookie-readable-by-scripts", "pd_connect/flow/browser_binding.py",
           (("Max-Age={LIFETIME_SECONDS}; Secure; HttpOnly; SameSite=Lax", "Max-Age={LIFETIME_SECONDS}; Secure; SameSite=Lax"),),
           UNIT_TESTS + FLOW_TESTS, "a script on the page can read the binding"),
    # --- return paths, PKCE, token encryption --------------------------------------------------
    Mutant("return-url-origin-unchecked", "pd_connect/flow/return_to.py",
           (('if f"{parts.scheme}://{parts.netloc}" != origin or parts.username or parts.password:', "if False:"),),
           UNIT_TESTS, "an open redirector should the path check ever let a shape through"),
    Mutant("protocol-relative-return-path", "pd_connect/flow/return_to.py",
           (('or value.startswith("//") or decoded.startswith("//")', ""),),
           UNIT_TESTS, "//evil.example is a return path"),
    Mutant("pkce-plain-challenge", "pd_connect/oauth/pkce.py",
           (('digest = hashlib.sha256(code_verifier.encode("ascii")).digest()', 'digest = code_verifier.encode("ascii")'),),
           UNIT_TESTS + ("tests/moto/test_connect_flow.py",), "the challenge gives the verifier away"),
    Mutant("tokens-not-bound-to-their-record", "pd_connect/vault/token_cipher.py",
           (('return {"purpose": PURPOSE, "record": record_key}', 'return {"purpose": PURPOSE}'),),
           STORE_TESTS, "a ciphertext copied onto another record decrypts there"),
    Mutant("decrypt-under-any-key", "pd_connect/vault/token_cipher.py",
           (("                KeyId=self._key_id,  # refuse ciphertexts made under any other key\n", ""),),
           STORE_TESTS, "ciphertexts made under another KMS key are accepted"),
)
