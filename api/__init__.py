"""The HTTP API and the operator console: driving adapters (STYLE 15) over
the same functions as the CLI. They parse, call, render; no business rule
lives in a route or a template."""
