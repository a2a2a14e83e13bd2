"""Benchmarks for the connect flow: `make bench` (= `python -m bench`) prints one table and writes
bench-results/bench.json, every figure from the same run.

Each part runs in a process of its own, so that no part sees another's imports, mocks or
environment:

- cold_start     fresh-process init of each handler, as a ratio to boto3 building the same clients
- remote_calls   AWS and PagerDuty calls per successful connection, cold and warm container
- package_size   zipped size of each function that `sam build` produced
- latency        warm in-process latency per route against in-memory AWS, beside the AWS calls alone
- load           the local stack (`python -m local.stack`) under concurrent complete flows

Development tooling only: nothing under functions/ imports this package.
"""
