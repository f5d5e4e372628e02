@allure.label.epic:Attestation
Feature: COS attests which policy pack it enforces
  Anyone may ask COS which pack decides; the answer carries strong validators so caches
  and MC can tell cheaply whether anything changed.

  Scenario Outline: The attestation names the enforced pack with strong validators (<mode>)
    When a client asks COS which pack it enforces
    Then the attestation is answered with these headers:
      | header         | promise                     |
      | ETag           | strong tag of the pack digest |
      | Content-Digest | sha-256 of the body          |
      | Content-Type   | application/json             |
    And the attestation says source "<source>" with signature verified "<verified>"
    And asking again with that ETag gets 304 with the same ETag and no body
    And asking with a list of ETags that includes it gets 304
    And asking with "*" gets 304
    And asking with a stale ETag gets the full attestation

    @standalone
    Examples: standalone
      | mode       | source | verified |
      | standalone | local  | false    |

    @integrated
    Examples: integrated
      | mode       | source | verified |
      | integrated | mc     | true     |
