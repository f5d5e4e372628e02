"""The load runner: one Gherkin sentence → a load profile → k6 (`runner`), and the CPU/RSS
sampler that runs beside it (`resources`). Imports only `harness.kit`.
"""
