"""The business logic, one package per domain, each with its pure logic and its store together.
From the bottom up (each imports only those below it; pyproject.toml's import contracts check it):
platform; marketplaces; pricing; imports, rules, access; normalize; ai, scoring; pipeline, products.
See the README's "Layout"."""
