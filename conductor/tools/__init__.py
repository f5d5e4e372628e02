"""Measurement tools run against a real MC process (not part of the service)."""
