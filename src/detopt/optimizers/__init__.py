"""Optimizers behind one ask/tell protocol (see :mod:`detopt.optimizers.base`)."""

from detopt.optimizers.base import Optimizer, available_optimizers, make_optimizer

__all__ = ["Optimizer", "available_optimizers", "make_optimizer"]
