Feature: Report demo
  A tiny suite whose report the browser test opens: two scenarios pass, one fails
  with an error message and an attachment (tests/report/test_report_in_browser.py).

  Scenario: Green one
    Then it passes

  Scenario: Green two
    Then it passes

  Scenario: Red one
    Given an attachment named "evidence-of-the-failure"
    Then it fails with "the receipt never arrived (demo failure 4711)"
