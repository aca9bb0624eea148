"""``python -m detopt`` is the ``detopt`` command."""

from detopt.cli import main

main()
