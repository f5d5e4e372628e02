"""The API's error type, with Toxiproxy's messages and status codes.

Why a module of its own: the proxy model (collection.py, proxy.py, toxics.py) raises these and the
HTTP layer (api.py) renders them, and both must agree on Toxiproxy's exact wording and statuses
(`{"error": "proxy not found", "status": 404}`) because clients written for Toxiproxy match on them.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error the API reports as `{"error": message, "status": status}` with that HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def joined(self, detail: str) -> ApiError:
        """Toxiproxy's `joinError`: the canonical message, a colon, then what went wrong."""
        return ApiError(f"{self.message}: {detail}", self.status)

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


# The same messages and statuses as Toxiproxy's api.go.
BAD_REQUEST_BODY = ApiError("bad request body", 400)
MISSING_FIELD = ApiError("missing required field", 400)
PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_ALREADY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_ALREADY_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)
