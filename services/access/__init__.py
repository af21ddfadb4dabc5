"""Access: API keys (hashed, scoped, revocable) and Standard Webhooks signatures. Imports models
only; the API's auth and the command line use it."""
