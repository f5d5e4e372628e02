@allure.label.epic:Credentials
Feature: Credentials are short-lived, scoped and checked on every call
  Nothing on either side of the seam answers without a valid token; a token only opens
  what its scopes name.

  @standalone
  Scenario Outline: COS refuses requests without a valid token (<token>)
    When a decision is requested from COS with <token>
    Then the answer is a problem with status 401
    And the answer carries a WWW-Authenticate challenge

    Examples:
      | token            |
      | no token         |
      | a forged token   |
      | an expired token |

  @standalone
  Scenario: A wrong password is refused with a challenge
    When someone logs in to COS as "qa" with a wrong password
    Then the answer is a problem with status 401
    And the answer carries a WWW-Authenticate challenge

  # MC's refusals, status by status (no token, expired, each missing scope, a wrong secret, an
  # unknown scope), are the pacts' to pin: docs/qa-handbook.md, "What the pacts pin instead".
  # These scenarios check that the MC actually deployed keeps each promise.
  @integrated
  Scenario: MC answers nothing to a token that has expired
    Given a client holds an expired MC token with scope "policy:read"
    When the client calls MC to read the pack
    Then the answer is a problem with status 401
    And the answer carries a WWW-Authenticate challenge

  @integrated
  Scenario: An MC token opens only what its scopes name
    Given a client holds an MC token with scope "policy:read"
    When the client calls MC to write evidence
    Then the answer is a problem with status 403

  @integrated
  Scenario: MC issues tokens only to a client that proves its secret
    When a client asks MC for a token with a wrong client secret
    Then the answer is a problem with status 401

  @integrated
  Scenario Outline: MC's tokens are short-lived and carry exactly the scopes asked for (<scopes>)
    When a client obtains an MC token for the scopes "<scopes>"
    Then the token lives at most 15 minutes, by its expires_in and by its exp - iat
    And the token carries exactly the scopes "<scopes>", in the answer and in its claims

    Examples:
      | scopes                     |
      | policy:read                |
      | evidence:write             |
      | policy:read evidence:write |
