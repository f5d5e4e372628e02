"""Typed wire models (pydantic v2) shared by COS and MC: one definition validates a body and
feeds the OpenAPI documents (seam/openapi.py), so the spec cannot drift from what is enforced."""
