"""What a run leaves behind and how it is read: scenario outcomes from behave's JSON
(`outcomes`) and the Prometheus metrics export (`metrics_export`). Imports only `harness.kit`.
"""
