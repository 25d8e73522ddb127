"""Foundations: named random streams and the money ledger. Imports nothing else of ``sim``."""
