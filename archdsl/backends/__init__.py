"""Backends: what the block table becomes (PyTorch source, diagrams, the docs site)."""
