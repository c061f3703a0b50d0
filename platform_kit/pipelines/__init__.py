"""Pipelines the kit ships, built from the catalog's components (``platform-health``: the smoke run)."""
