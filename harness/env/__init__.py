"""The environment: what a running COS/MC is (`environments`), who starts it (`backends`:
process, compose, external), one behave run's state (`session`, `plan`, `preflight`, `restore`),
a scenario's state (`world`), the suite's MC client (`mc`) and the behave hook helpers (`report`,
`flaky`). Imports only `harness.kit`.
"""
