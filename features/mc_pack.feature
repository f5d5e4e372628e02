@integrated @allure.label.epic:Policy_pack
Feature: MC serves signed policy packs with strong validators
  The pack's identity is its SHA-256: ETag, Content-Digest and the attestation's subject all
  carry it, so COS can verify what it runs and poll cheaply.

  Background:
    Given the suite holds an MC token with scope "policy:read"

  Scenario: The pack carries its digest in every validator
    When the suite fetches pack "policy-pack-v0" from MC
    Then the answer is 200 with content type "application/gzip"
    And its ETag is the strong tag of the SHA-256 of the bytes
    And its Content-Digest is the sha-256 of the bytes
    And the bytes are an OPA bundle with a .manifest revision, Rego and data.json

  Scenario: HEAD gives the same validators and no body
    When the suite asks MC for the headers of pack "policy-pack-v0"
    Then they equal the GET headers and there is no body

  Scenario Outline: Conditional fetches answer 304 only when a tag matches (<case>)
    When the suite fetches pack "policy-pack-v0" with If-None-Match <header>
    Then the answer status is <status>

    Examples:
      | case              | header                      | status |
      | current tag       | current                     | 304    |
      | list with current | "sha256-stale", current     | 304    |
      | any               | *                           | 304    |
      | stale tag         | "sha256-stale"              | 200    |

  Scenario: The attestation is signed by MC and names the pack's bytes
    When the suite fetches pack "policy-pack-v0" from MC
    And the suite fetches the attestation of pack "policy-pack-v0"
    Then the attestation verifies with MC's published key
    And its subject digest is the SHA-256 of the pack bytes

  Scenario: An unknown pack is a clear 404
    When the suite fetches pack "no-such-pack" from MC
    Then the answer is a problem with status 404
