"""Aggregation of run records into tables and figures (reads files only, never trains)."""

from odebench.report.build import build_experiment_report

__all__ = ["build_experiment_report"]
