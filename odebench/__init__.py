"""odebench: a reproducible benchmark suite for neural ODEs."""

__version__ = "0.1.0"
