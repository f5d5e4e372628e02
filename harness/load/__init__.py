"""The load runner: one Gherkin sentence → a load profile → k6 (`runner`), and the CPU/RSS
sampler that runs beside it (`resources`); the same sentence on N k6-operator runners
(`testrun` renders the TestRun and its archive, `verdicts` reads the runners' verdicts back).
Imports only `harness.kit`.
"""
