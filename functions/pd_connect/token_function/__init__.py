"""The token function: tokens for any backend, behind lambda:InvokeFunction.

protocol.py is the wire format (requests, answers, errors), service.py what each action does,
client.py the library's side (PD_CONNECT_TOKEN_FUNCTION). README: "Use connections from any backend".
"""
