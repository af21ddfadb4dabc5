"""The work of each pipeline stage over one chunk of a job's products.

Every stage has the same shape: claim the chunk's items waiting at the stage (one locked read),
load what the stage needs in bulk, call the pure services (services.normalize, services.pricing,
services.scoring, services.rules) per product, write the results in bulk, and move the items on, all
in the caller's transaction. A product that fails fails alone, with the stage and the reason.
A product whose inputs have not changed since the stage last ran (the stage's key matches) is
skipped, so a re-import costs only the reads.
"""
