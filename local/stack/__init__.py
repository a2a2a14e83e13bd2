"""The whole "Connect your PagerDuty account" flow on one machine, without Docker.

    python -m local.stack                   # everything in one process; open the printed URL
    python -m local.stack --services-only   # only AWS + PagerDuty, for `sam local start-api`
    python -m local.stack --write-sam-local-env   # regenerate local/sam-local-env.json
    python -m local.stack --parameter-overrides 'AllowAnonymousConnect=false'
    python -m local.stack --state-dir .local-state [--reset]   # what `make run` runs: state kept
    python -m local.stack --json-logs       # the functions' JSON log lines too

What runs (one process, stopped by Ctrl-C or SIGTERM):
- the HTTP API at http://localhost:3000 (PORT overrides; bound to 127.0.0.1): the template's
  HttpApi routes, each request handed to the unmodified handler as a payload 2.0 event;
- AWS: moto's server on a free loopback port, with the template's DynamoDB table, KMS key and
  Secrets Manager secret created in it (AWS_ENDPOINT_URL set: that endpoint is used instead);
  region AWS_REGION, default us-east-1; it takes only this run's random key (printed);
- PagerDuty: the stand-in (local/pagerduty_standin) on a free loopback port, with a generated
  client whose redirect URI is http://localhost:<PORT>/callback. To use your own PagerDuty app
  instead, set PD_IDENTITY_URL, PD_API_URL and PD_CLIENT_ID (optionally PD_API_URL_EU,
  PD_SCOPES), register http://localhost:<PORT>/callback in the app, and give the client secret
  at the prompt (no echo) or in a file named by PD_CLIENT_SECRET_FILE;
- the console: one line per request (console.py); state across runs with --state-dir
  (local_state.py).

With Docker (`--services-only`), fixed ports (`--aws-port`, `--pagerduty-port`, `--port` move
them), bound to all interfaces so containers reach them:
- 5001  embedded AWS (moto), reached from containers as http://host.docker.internal:5001, in the
        region SAM will give the functions (`--region`, else the AWS config's, as SAM reads it)
- 8090  PagerDuty stand-in, as http://pagerduty.localhost:8090 from containers and browser alike;
        it accepts the callback of `--port` only
- 3000  `sam local start-api` itself, which the printed command starts:
        sam build && env $(cat .local-state/sam-local-credentials-5001.env) sam local start-api
            --env-vars local/sam-local-env.json --port 3000
            --region us-east-1 --add-host host.docker.internal:host-gateway
            --add-host pagerduty.localhost:host-gateway
  The embedded AWS takes only this run's random key, there as on loopback; SAM hands the
  containers the shell's credentials, so the key goes to that 0600 file (deleted at stop), read
  by `env` for the one command.
  sam local passes a container only the variables the template declares, so template.yaml
  declares AWS_ENDPOINT_URL, PD_IDENTITY_URL, PD_API_URL and PD_API_URL_EU empty (empty = the
  real endpoints in AWS) and the env-vars file fills them. It names no region; it names the
  ports, so write it with the same `--port` (`--write-sam-local-env [PATH] --port 8080`).

Template parameters: `--parameter-overrides 'AllowAnonymousConnect=false ReturnToOrigin=...'`, as
for `sam deploy`.

Development tooling only: nothing under functions/ imports this package.
"""
