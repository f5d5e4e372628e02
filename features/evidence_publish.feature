@allure.label.epic:Evidence
Feature: Evidence is published exactly once and acknowledged
  COS accepts release evidence into a durable outbox and answers 202 at once; in integrated
  mode it publishes each entry to MC, which stores it once and answers with a signed receipt.

  Background:
    Given the QA user is logged in to COS

  @integrated
  Scenario: Evidence reaches MC exactly once and is acknowledged
    When the QA user submits 5 pieces of evidence
    Then COS accepts each of them with 202
    And within 10 seconds MC holds each of them exactly once
    And within 10 seconds COS shows each of them acknowledged by a receipt

  @integrated
  Scenario: A retried submission is a replay, not a second record
    When the QA user submits a piece of evidence
    And the QA user submits the same evidence again with the same idempotency key
    Then the second answer is a replay of the first
    And within 10 seconds MC holds it exactly once

  Scenario Outline: Reusing an idempotency key for different evidence is refused (<mode>)
    When the QA user submits a piece of evidence
    And the QA user submits different evidence with the same idempotency key
    Then the answer is a problem with status 422 and reason "idempotency_key_reused"

    @standalone
    Examples: standalone
      | mode       |
      | standalone |

    @integrated
    Examples: integrated
      | mode       |
      | integrated |

  @standalone
  Scenario: Standalone COS keeps evidence and publishes nothing
    When the QA user submits 3 pieces of evidence
    Then COS accepts each of them with 202
    And COS shows each of them "pending" in its outbox

  @integrated
  Scenario: A receipt with a bad signature changes nothing
    Given the QA user has already submitted a piece of evidence
    And within 10 seconds COS shows it acknowledged by MC's receipt
    When someone posts a receipt for it with a bad signature
    Then the answer is a problem with status 401
    And its outbox entry is unchanged
