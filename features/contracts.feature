@contract @allure.label.epic:Contracts
Feature: Consumer contracts pin the COS ↔ MC seam
  Each client states what it relies on as a Pact: COS of MC, MC of COS, and the client SDK of
  COS. The real services are verified against those pacts, the pacts never hold a secret, and
  breaking any promise of the seam makes them fail. (Gates: docs/contracts.md.)

  Scenario: The pacts under review are the ones the consumer tests produce
    Then the committed pacts match what the consumers generate

  Scenario: MC keeps every promise COS relies on
    Then MC honours every pact from COS

  Scenario: COS keeps every promise MC and the client SDK rely on
    Then COS honours every pact from MC and from its client SDK

  Scenario: Contracts can be shared without leaking credentials
    Then no pact contains a secret

  # Proof that the checks above are sharp, not a check of the seam: `make test` runs it in the
  # mutations stage, so the contracts stage (first) stays a few seconds long.
  @mutation-proof
  Scenario: Breaking any promise of the seam breaks a contract
    Then every seam mutation is caught by the contracts
