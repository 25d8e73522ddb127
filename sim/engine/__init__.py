"""The SimPy engine, random streams, ledger and the `simulate` entry point."""
