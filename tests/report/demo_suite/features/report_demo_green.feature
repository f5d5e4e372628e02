Feature: Report demo, another stage
  A second stage of the demo suite: both scenarios pass (tests/report/test_report_in_browser.py).

  Scenario: Green three
    Then it passes

  Scenario: Green four
    Then it passes
