"""Supplier assurance: a portfolio of suppliers, their signed evidence, and how each stands."""
