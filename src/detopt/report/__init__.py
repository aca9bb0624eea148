"""Plots and a self-contained HTML report of a study."""

from detopt.report.html import write_report

__all__ = ["write_report"]
