"""The platform edge: settings from the environment, AWS clients, secrets (the client secret, the
signing keys), logging and metrics, and the HTTP edge (API Gateway events in, responses out)."""
