# Not part of the suite: tests/harness/test_suite_failures.py runs it against a COS
# started with an injected delay to prove a breached budget fails the scenario.
@standalone @load
Feature: A breached latency budget fails the scenario

  Scenario: Reads slower than the budget
    Given the QA user is logged in to COS
    Then at 40 requests per second for 3 seconds with 80% reads, p95 of reads stays under 50 ms and p95 of writes under 700 ms
