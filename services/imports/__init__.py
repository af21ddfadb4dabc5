"""Imports: what a delivery is and how it is accepted. The envelope (the webhook's four body shapes
and their options, with their JSON Schema for the docs), the scraped product model (ProductIn: the
one place a product's fields and limits are written), and accepting a delivery (one transaction:
webhook row, job, chunks; idempotency). Imports marketplaces, pricing's price parser, the platform and
models; the pipeline's import stage imports this."""
