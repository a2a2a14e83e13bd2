"""PagerDuty Connect: the OAuth 2.0 connect flow and the stored connections it produces.

Deployed inside both Lambda functions. Modules are small and each has one concern; the handlers
(`start_handler`, `callback_handler`) read like the flow and call into them.
"""
