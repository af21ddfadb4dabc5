"""The Dramatiq side: the broker and its middleware, messages built by actor name, the outbox, the
worker's context (settings made into rates, weights and a copywriter when a worker starts), and the
actors, thin glue around services.pipeline. Imports services, schemas and models; nothing imports the
actor modules but the worker's entry point (workers.main)."""
