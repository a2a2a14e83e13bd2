"""The platform edge: settings from the environment, AWS clients, secrets (the client secret, the
signing keys) and JWS signing, https URL checks, logging and metrics, and the HTTP edge (API
Gateway events in, responses out). It depends on no other layer."""
