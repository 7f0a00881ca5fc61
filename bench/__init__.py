"""Benchmarks: speed, memory and accuracy, side by side with peers (`python -m bench`)."""
