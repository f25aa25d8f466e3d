"""Benchmarks shipped with the package (``cgpo bench``); scripts under ``benches/`` call them."""
