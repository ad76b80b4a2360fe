"""The HTTP API and the operator console: driving adapters (STYLE 15) over
the same functions as the CLI. They parse, call, render; no business rule
lives in a route or a template.

Short Redis work (one event, a verification, a license page, a key's
lookup) runs on the event loop: a hop to the thread pool costs more CPU
than the work itself (bench/http_api.py). Work that can take long (a batch of
1,000, a month's ledger, dead letters, queue depths) runs in the thread
pool, so short requests keep interleaving with it. Redis clients carry a
socket timeout, so a stalled server cannot hold the loop for ever.
"""
