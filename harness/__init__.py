"""The small library behind the Gherkin steps: environments, clients, domain actions.

Steps call one function here; everything that knows about processes, ports,
HTTP headers or timing lives in this package so features stay plain language.
"""
