"""What a builder's backend calls: get_access_token (refreshing once for everyone), PagerDutyClient,
confirm_connection for linked flows, and disconnect. Raises only its documented exceptions."""
