"""One module per resource, named as its service package where they share a name: imports (the
webhook, batch and single-product imports, job status), products, ai, rules, pricing_profiles, health."""
