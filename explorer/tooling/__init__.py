"""Developer tooling: browser driving for tests and latency scripts (needs the dev requirements)."""
