"""The HTTP API (FastAPI), thin: it checks the request, calls a service, sends messages after the
commit and answers. Imports services, schemas, models and workers' message helpers (workers.messages,
workers.outbox, workers.broker), never an actor module (pyproject.toml's import contracts)."""
