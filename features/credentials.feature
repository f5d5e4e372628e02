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

  @integrated
  Scenario Outline: MC checks token and scope on every call (<case>)
    When the suite calls MC "<call>" with <token>
    Then the answer status is <status>

    Examples:
      | case               | call            | token                                    | status |
      | missing token      | GET pack        | no token                                 | 401    |
      | expired token      | GET pack        | an expired token with "policy:read"      | 401    |
      | wrong scope, pack  | GET pack        | a token with only "evidence:write"       | 403    |
      | wrong scope, write | POST evidence   | a token with only "policy:read"          | 403    |
      | right scope        | GET pack        | a token with only "policy:read"          | 200    |

  @integrated
  Scenario Outline: MC's token endpoint refuses bad requests (<case>)
    When the suite asks MC for a token with <request>
    Then the answer is a problem with status <status>

    Examples:
      | case          | request                 | status |
      | wrong secret  | a wrong client secret   | 401    |
      | unknown scope | the scope "admin:all"   | 400    |

  @integrated
  Scenario Outline: MC's tokens are short-lived and carry exactly the scopes asked for (<scopes>)
    When the suite obtains an MC token for the scopes "<scopes>"
    Then the token lives at most 15 minutes, by its expires_in and by its exp - iat
    And the token carries exactly the scopes "<scopes>", in the answer and in its claims

    Examples:
      | scopes                     |
      | policy:read                |
      | evidence:write             |
      | policy:read evidence:write |
