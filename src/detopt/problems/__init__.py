"""Built-in problems: DTLZ test problems with known fronts, the dRICH simulation, and small
synthetic functions for tests and benchmarks. See :mod:`detopt.problems.registry`."""
