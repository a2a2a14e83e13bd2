"""Where connections live: the connection records (one codec for their attributes), the refresh
lease, unconfirmed connections of linked flows and token encryption under KMS. Raises its own
errors (errors.py), never a page's reason."""
