"""Benchmarks a VJ can trust: `vjgan bench` and the scripts in the repository's bench/ folder.

Every section measures the real code path (the engine, the capture child, the GL chain, the encoder)
and returns plain JSON-ready dicts; `vjgan.benchmark.suite.run_suite` puts them together with the
machine they ran on. Nothing here is imported by a show.
"""
