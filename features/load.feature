@integrated @load @allure.label.epic:Load
Feature: Latency budgets under load
  At the target rate the read path (decisions, attestation) and the write path (evidence)
  stay within their p95 budgets, with no failed requests and no dropped iterations — while COS
  publishes to MC and MC sends receipts back. The numbers in the sentence are the thresholds
  k6 enforces; there is no other copy of them.

  Scenario: Reads and writes stay within budget at the target rate
    Given the QA user is logged in to COS
    Then at 1000 requests per second for 60 seconds with 80% reads, p95 of reads stays under 350 ms and p95 of writes under 700 ms
