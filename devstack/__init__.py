"""The development stack, a tool for people and tests outside the production package: real PostgreSQL
and Redis from PyPI wheels (servers), the API and a worker as processes (stack), the sample import
(sample) and `python -m devstack` (what scripts/dev runs). A deployed process never imports it.
Imports services.platform only."""
