@integrated @allure.label.epic:Cold_start
Feature: Integrated cold start
  COS boots beside MC: it obtains scoped credentials, fetches the policy pack, verifies its
  digest and MC's signature, and only then lets it decide.

  Scenario: COS enforces the pack MC publishes, verified
    Given the QA user is logged in to COS
    Then COS enforces the "mc" pack
    And the pack COS enforces is the one MC serves
    And COS reports itself healthy in "integrated" mode with MC reachable
    And these decisions are made:
      | roles            | action          | decision |
      | developer        | submit-evidence | allow    |
      | developer        | deploy          | deny     |

  Scenario: The cold start is measured and within budget
    Then COS was ready within 20 seconds of launch
    And the first verified decision came within 25 seconds of launch
