"""PagerDuty's OAuth 2.0, as a client: the authorize URL, PKCE, the token endpoint (code exchange
and refresh, with the rotate-and-retry on invalid_client), id_token claims, granted scopes and
the signed-in user's profile (/users/me). Knows nothing of browsers, storage or pages."""
