"""Job-end callbacks: when a job ends, its `options.callback_url` gets a signed summary (Standard
Webhooks), from a worker, retried with backoff for a bounded time; every attempt is kept and shown in
the job status. `network` refuses addresses inside the deployment's network, `delivery` sends one
attempt, `summary` is the body, `store` the attempts and the job's callback status."""
