"""Benchmarks and profiling: speed in a real browser and on the server, and the browser driver
they share with the browser tests. Run from the project root: `python -m scripts.bench.NAME`."""
