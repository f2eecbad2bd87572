"""Benchmarks against neurokit2, measured in the same run (`make bench`)."""
