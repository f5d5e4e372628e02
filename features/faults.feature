@integrated @faults @allure.label.epic:Resilience
Feature: COS rides out faults between it and MC
  The network between COS and MC fails in many ways: MC's service stops, MC becomes unreachable,
  answers late or not at all, connections reset, COS itself crashes. Whatever happens, COS keeps
  answering its own clients, keeps every piece of evidence it accepted, and once the fault is over
  it catches up: MC holds exactly the evidence COS accepted — none lost, none twice — and COS
  enforces MC's pack again. Each scenario attaches its counts and its measured time to recover.

  Background:
    Given the QA user is logged in to COS

  @owns-services
  Scenario: MC's service is down when COS starts cold; COS serves its local pack, then MC's
    Given MC's service is stopped
    When COS starts cold
    Then COS enforces the "local" pack
    And COS reports itself degraded with MC unreachable
    And these decisions are made:
      | roles     | action | decision |
      | viewer    | read   | allow    |
      | developer | deploy | deny     |
    When MC's service starts again
    Then COS enforces the pack MC serves within 5 seconds after the fault ends
    And COS reports itself healthy in "integrated" mode with MC reachable

  Scenario: Evidence written while MC is unreachable reaches MC exactly once when it is back
    When MC is unreachable for 30 seconds while evidence is written at 5 per second
    Then COS answered 202 at once to every piece of evidence written meanwhile
    And COS's outbox drains within 10 seconds after the fault ends
    And MC holds exactly the evidence COS accepted: none lost, none twice

  Scenario: Slow, then silent pack fetches: COS backs off and keeps deciding with its last-known-good pack
    Given MC has published a good, signed revision and COS enforces it
    And decisions are being requested from COS continuously
    When MC's answers reach COS 2 seconds late until COS has polled 2 times
    Then COS's pack polls still succeed, each taking at least 2 seconds
    When MC stops answering COS until COS has given up on 2 polls
    Then COS waits longer after each failed poll
    And COS reports itself degraded with MC unreachable
    And COS still enforces the last-known-good pack
    When MC answers COS normally again
    Then COS polls MC successfully again within 5 seconds after the fault ends
    And COS reports itself healthy in "integrated" mode with MC reachable
    And no decision request failed during the fault

  Scenario Outline: Connections to MC reset <moment>; each document is stored once, under its own key
    When every connection to MC resets <moment> while 20 pieces of evidence are written
    Then COS counted a failed publish for each of them
    And COS's outbox drains within 10 seconds after the fault ends
    And MC holds exactly the evidence COS accepted: none lost, none twice

    Examples:
      | moment        |
      | as COS sends  |
      | as MC answers |

  @owns-services
  Scenario: COS is killed mid-publish and restarted on its data; nothing lost, nothing twice
    When COS is killed mid-publish while evidence is written at 10 per second, and restarted
    Then COS accepted every piece of evidence, those sent while it was down once it was back
    And COS's outbox drains within 10 seconds after the fault ends
    And MC holds exactly the evidence COS accepted: none lost, none twice
    And COS counted each resend MC already held as a replay, not as new evidence
