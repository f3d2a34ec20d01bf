"""Developer tools that are not part of the odebench package (run as ``python -m tools.X``)."""
