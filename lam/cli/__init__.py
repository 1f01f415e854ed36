"""The command line: one small module per command, registered in :mod:`lam.cli.main`."""
