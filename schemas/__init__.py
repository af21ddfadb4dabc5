"""Pydantic shapes of what the API answers and the edits it takes (XRead / XCreate / XUpdate).
Imports only models (for the limits of what a row may hold); services build and return these shapes.
The bodies the import routes read themselves are the imports service's (services.imports)."""
