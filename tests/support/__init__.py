"""What the tests share, and the only place they share it from.

* `factories`: scraped products as a webhook brings them (`product`, `batch`, `spam_product`);
* `listings`: listing facts for the scoring tests (a perfect listing per marketplace, an empty one);
* `jobs`: jobs on the test's session (`new_job`, the import-only `run_job`, `processed`);
* `pipeline`: a job's stages run in-process, as the workers would (`run_pipeline`, `run_stages`...);
* `ai`: the AI tests' product, good and fallback copy, a scripted chat model, answers per language;
* `fake_groq`: a fake Groq API on loopback (`FakeGroq`), for the real groq SDK;
* `rows`: reading rows back in assertions (`rows`, `one` over an engine; `id_of` over a session);
* `servers`: the suite's PostgreSQL and Redis (`SERVERS`) and fresh databases on them;
* `api`: the credentials of the suite's in-process API;
* `stack`: the end-to-end stack (the API and a worker as processes) and its credentials.

Test modules import helpers only from here: never from another test module, nor from a conftest.py
(conftest files define fixtures and hooks; they import their constants and helpers from here too).
Modules here import nothing from test modules or conftest files.
"""
