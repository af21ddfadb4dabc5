"""The pipeline: jobs (progress derived from item states, status, plan, sweeping), each job item's
stage and attempts, the stages over chunks (stages/: import, normalize, optimize, price, score), the
seed's single-product import and the on-demand AI copy. Imports every domain below it; workers and
the API call it."""
