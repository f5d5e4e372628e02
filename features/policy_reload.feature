@integrated @allure.label.epic:Policy_reload
Feature: Policy fetch and hot reload
  A pack MC publishes changes COS's decisions within the reload budget, with no failed
  request during the swap. A pack that fails verification never decides anything: COS keeps
  its last-known-good pack.

  Background:
    Given the QA user is logged in to COS
    And MC has published a good, signed revision and COS enforces it

  Scenario: A new pack is enforced within the reload budget, with no failed requests
    Given decisions are being requested from COS continuously
    When MC publishes a revision that freezes the "submit-evidence" action
    Then COS enforces the new revision within 2 seconds
    And a developer may not "submit-evidence"
    And no decision request failed during the reload

  Scenario Outline: A pack that fails verification is rejected and the last-known-good stays (<defect>)
    When MC publishes a revision that freezes the "read" action, <defect>
    Then COS rejects it within 5 seconds and counts a reload failure
    And COS still enforces the last-known-good pack
    And a viewer may "read"

    Examples:
      | defect             |
      | unsigned           |
      | wrong-key          |
      | tampered           |
      | bad-content-digest |

  @owns-services
  Scenario: MC unreachable at cold start, then back
    Given MC is unreachable from COS
    When COS starts cold
    Then COS enforces the "local" pack
    And COS reports itself degraded with MC unreachable
    And these decisions are made:
      | roles     | action | decision |
      | viewer    | read   | allow    |
    When MC becomes reachable again
    Then COS enforces the pack MC serves within 5 seconds
    And COS reports itself healthy in "integrated" mode with MC reachable
