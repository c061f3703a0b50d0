"""Test doubles for services that cannot run on a developer machine or in CI (see docs in each module)."""
