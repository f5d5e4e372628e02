"""The gates: the suite runner (`run_suite`), the staged gate command (`stages`), and what they
check besides scenarios (step catalog, secret scan, runbook recipes, mutation proof, repeats,
fuzzing). The top layer: may import every other.
"""
