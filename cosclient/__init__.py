"""The Python client SDK for CompanyOS (COS): one method per COS endpoint.

Used by applications, by the acceptance suite's steps and by the Pact
consumer tests, so it reports what COS answered instead of interpreting it:
every call returns a `Reply(status, headers, body)` — no exception for an
HTTP error status (tests assert on 401s and 422s). Transport failures
(connection refused, timeout) do raise `httpx.TransportError`.

    cos = CompanyOSClient("http://127.0.0.1:8600")
    cos.login("qa", "qa-dev-password")          # stores the token
    cos.authorize({"user": "qa", "roles": ["developer"]}, "read").body["allow"]

`on_exchange(request, response)` sees every exchange (for report
attachments); it is responsible for redacting what it records.
"""

from __future__ import annotations

from cosclient.client import CompanyOSClient, Reply

__all__ = ["CompanyOSClient", "Reply"]
