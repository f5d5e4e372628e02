@standalone @allure.label.epic:Cold_start
Feature: Standalone cold start
  COS boots with no MC anywhere and serves its users from the local policy pack
  and the local users file, so a tenant can work even when the control plane does not exist.

  Scenario: COS serves decisions from its local pack right after boot
    Given the QA user is logged in to COS
    Then COS enforces the "local" pack
    And COS reports itself healthy in "standalone" mode
    And these decisions are made:
      | roles            | action          | decision |
      | developer        | submit-evidence | allow    |
      | developer        | deploy          | deny     |
      | release-manager  | deploy          | allow    |
      | viewer           | read            | allow    |

  Scenario: The cold start is measured and within budget
    Then COS was ready within 20 seconds of launch
    And the first verified decision came within 25 seconds of launch
