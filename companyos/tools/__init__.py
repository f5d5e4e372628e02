"""Operator and measurement tools for COS (not imported by the service)."""
