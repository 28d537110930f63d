"""Reusable helpers for the test suite (import as ``tests.support.<module>``)."""
