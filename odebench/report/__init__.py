"""Aggregation of run records into tables and figures (reads files only, never trains).

Entry points are in :mod:`odebench.report.build`.
"""
