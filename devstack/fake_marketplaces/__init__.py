"""Fake Amazon SP-API, eBay Sell Inventory and Kaufland Seller API servers on loopback: real HTTP
servers that check what the real ones check (auth, signatures, required fields, order of calls, rate
limits) and answer in their real shapes. Used by the tests, the publish benchmark and `scripts/dev`."""
