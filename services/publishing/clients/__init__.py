"""One client per marketplace API (amazon, ebay, kaufland), on the shared HTTP behaviour of base."""
