"""Where connections live: the connection records (one codec for their attributes), the refresh
lease, unconfirmed connections of linked flows, token encryption under KMS and the JWS signing
used by link and result tokens. Raises its own errors (errors.py), never a page's reason."""
