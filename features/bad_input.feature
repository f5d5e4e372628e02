@allure.label.epic:Bad_input
Feature: Bad input gets a clear error and changes nothing
  Whatever a client sends, COS answers with a problem document that says why, never a
  stack trace or a 500, and nothing already accepted is lost or changed.

  Background:
    Given the QA user is logged in to COS
    And the QA user has already submitted a piece of evidence

  Scenario Outline: COS refuses bad evidence with a reason (<case>, <mode>)
    When the QA user sends <input>
    Then the answer is a problem with status <status> and reason "<reason>"
    And the evidence accepted before is unchanged and nothing new was added

    @standalone
    Examples: standalone
      | mode       | case             | input                                  | status | reason                  |
      | standalone | malformed JSON   | a body that is not JSON                | 400    | malformed_json          |
      | standalone | oversize         | a body of 70000 bytes                  | 413    | body_too_large          |
      | standalone | bad digest       | evidence with a wrong Content-Digest   | 400    | content_digest_mismatch |
      | standalone | no key           | evidence without an idempotency key    | 400    | missing_idempotency_key |
      | standalone | bad field        | evidence with kind "selfie"            | 422    | invalid_evidence        |
      | standalone | NaN              | evidence with NaN in its payload       | 400    | non_finite_number       |
      | standalone | 1e999            | evidence with a number beyond JSON     | 400    | non_finite_number       |
      | standalone | lone surrogate   | evidence with a lone surrogate         | 400    | invalid_unicode         |
      | standalone | deep nesting     | a body nested 1000 arrays deep         | 400    | nesting_too_deep        |
      | standalone | wrong media type | evidence as text/plain                 | 415    | unsupported_media_type  |

    @integrated
    Examples: integrated
      | mode       | case             | input                                  | status | reason                  |
      | integrated | malformed JSON   | a body that is not JSON                | 400    | malformed_json          |
      | integrated | oversize         | a body of 70000 bytes                  | 413    | body_too_large          |
      | integrated | bad digest       | evidence with a wrong Content-Digest   | 400    | content_digest_mismatch |
      | integrated | NaN              | evidence with NaN in its payload       | 400    | non_finite_number       |
      | integrated | lone surrogate   | evidence with a lone surrogate         | 400    | invalid_unicode         |

  @standalone
  Scenario: The invalid field is named
    When the QA user sends evidence with kind "selfie"
    Then the problem names the field "kind"
