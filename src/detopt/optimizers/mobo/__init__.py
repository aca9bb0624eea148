"""``mobo``: multi-objective Bayesian optimization on BoTorch/GPyTorch.

Modules: :mod:`.optimizer` (the ask/tell optimizer), :mod:`.options` (its settings),
:mod:`.data` (training data from trials), :mod:`.model` (GP fitting), :mod:`.acquisition`
(acquisition functions and their optimization), :mod:`.trust_region`.
"""

from detopt.optimizers.mobo.optimizer import MOBOOptimizer

__all__ = ["MOBOOptimizer"]
