@integrated @allure.label.epic:Policy_pack
Feature: MC serves signed policy packs with strong validators
  The pack's identity is its SHA-256: ETag, Content-Digest and the attestation's subject all
  carry it, so COS can verify what it runs and poll cheaply. The exact answers (HEAD, 304, 404,
  headers and problem documents) are pinned by the pacts; these scenarios check that the MC
  actually deployed keeps the promises (docs/qa-handbook.md, "What the pacts pin instead").

  Background:
    Given a client holds an MC token with scope "policy:read"

  Scenario: The pack carries its digest in every validator
    When the client fetches pack "policy-pack-v0" from MC
    Then the answer is 200 with content type "application/gzip"
    And its ETag is the strong tag of the SHA-256 of the bytes
    And its Content-Digest is the sha-256 of the bytes
    And the bytes are an OPA bundle with a .manifest revision, Rego and data.json

  Scenario: A client polling an unchanged pack is sent no bytes, and the whole pack once it is stale
    When the client fetches pack "policy-pack-v0" from MC
    Then polling pack "policy-pack-v0" with these If-None-Match values is answered:
      | If-None-Match            | status |
      | its ETag                 | 304    |
      | a stale tag and its ETag | 304    |
      | *                        | 304    |
      | a stale tag              | 200    |

  Scenario: The attestation is signed by MC and names the pack's bytes
    When the client fetches pack "policy-pack-v0" from MC
    And the client fetches the attestation of pack "policy-pack-v0"
    Then the attestation verifies with MC's published key
    And its subject digest is the SHA-256 of the pack bytes
