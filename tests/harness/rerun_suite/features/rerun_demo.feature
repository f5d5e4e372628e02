# Not part of the suite: tests/harness/test_rerun_real.py runs it through harness.run_suite
# (real behave, real rerun) to prove that a scenario failing only on its first attempt is
# reported flaky, and one failing on both attempts fails the run.
Feature: The runner reruns failed scenarios once

  Scenario: Steady
    Then the step passes

  Scenario: Wobbly
    Then the step fails on its first attempt only

  Scenario: Broken
    Then the step fails on every attempt
