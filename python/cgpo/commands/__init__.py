"""Subcommands of the ``cgpo`` command line (each module: ``add_arguments`` and ``run``)."""
