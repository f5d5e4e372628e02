"""The step library: one module per domain noun (evidence, policy, credentials, faults, …), the
only thing `steps/` calls. Imports `harness.env`, `harness.load`, `harness.records` and `harness.kit`.
"""
