"""Data sources, loaders and generators."""
