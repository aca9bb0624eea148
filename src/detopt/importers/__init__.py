"""Importers: configurations of other tools converted into detopt studies.

``detopt import aid2e FILES... -o study.yaml`` (see :mod:`detopt.importers.aid2e`).
"""

from detopt.importers.aid2e import Conversion, Note, convert

__all__ = ["Conversion", "Note", "convert"]
