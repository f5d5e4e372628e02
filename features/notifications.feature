@observability @allure.label.epic:Observability
Feature: A failing gate notifies QA and Engineering
  A run's metrics go to a real Pushgateway; a real Prometheus evaluates observability/alerts.yml
  and a real Alertmanager routes what fires to the team's webhook — here the harness's receiver
  only: these made-up runs never reach the chat webhook the real run notifies in CI. All three run
  on loopback for the scenario only (harness/obs_stack.py). The run itself is the files a contract
  stage leaves behind (harness/notifications.py); docs/observability.md, "Alerts and notifications".

  Background:
    Given Prometheus, the Pushgateway and Alertmanager are running on loopback

  Scenario: A run with a broken contract notifies, naming the gate and the run, within 15 seconds
    Given a run whose contract gate failed
    When the run's metrics are pushed to the Pushgateway
    Then within 15 seconds of the push a notification names the "contracts" gate and the run

  Scenario: A green run sends no notification
    Given a run where every gate passed
    When the run's metrics are pushed to the Pushgateway
    Then once Prometheus has judged the run, no notification about it arrives
