"""What a running environment is, independent of who started it.

Steps only ever see an `Environment`: URLs, credentials and a `control`
handle for stopping/killing/restarting a service. Whether the services are
subprocesses, containers or someone else's deployment is the backend's
business (`harness/env/backends/`), so the same features run on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

MODES = ("standalone", "integrated")
COS = "cos"
MC = "mc"
PROXY = "faultproxy"


@dataclass(frozen=True)
class Credentials:
    cos_user: str = "qa"
    cos_password: str = "qa-dev-password"
    mc_client_id: str = "companyos"
    mc_client_secret: str = "companyos-dev-secret"
    mc_admin_token: str = "mc-admin-dev"


@dataclass(frozen=True)
class Endpoints:
    cos_url: str
    mc_url: str | None = None  # MC's public listener, direct (not through the fault proxy)
    mc_admin_url: str | None = None  # MC's admin listener (its own port), for the suite's admin calls
    toxiproxy_url: str | None = None
    mc_proxy_name: str | None = None  # the proxy COS uses to reach MC


class ServiceControl(Protocol):
    """Lifecycle of the services under test; names are COS, MC, PROXY."""

    def stop(self, service: str) -> None: ...

    def kill(self, service: str) -> None: ...

    def start(self, service: str, fresh_data: bool = False) -> float: ...

    def running(self, service: str) -> bool: ...

    def logs(self, service: str) -> str: ...

    def pids(self) -> dict[str, int]: ...


class NoControl:
    """For `backend=external`: the suite does not own the services."""

    def _refuse(self, service: str) -> None:
        raise NotImplementedError(
            f"backend=external cannot control {service}; tag the scenario @owns-services"
        )

    def stop(self, service: str) -> None:
        self._refuse(service)

    def kill(self, service: str) -> None:
        self._refuse(service)

    def start(self, service: str, fresh_data: bool = False) -> float:
        self._refuse(service)
        return 0.0

    def running(self, service: str) -> bool:
        return True

    def logs(self, service: str) -> str:
        return "(logs are not available for backend=external)"

    def pids(self) -> dict[str, int]:
        return {}


@dataclass
class Environment:
    mode: str
    backend: str
    endpoints: Endpoints
    credentials: Credentials
    control: ServiceControl
    timings: dict[str, float] = field(default_factory=dict)
    found: Any = (
        None  # harness.env.restore.FoundState: what the run found, to leave it so after each scenario
    )

    @property
    def integrated(self) -> bool:
        return self.mode == "integrated"


class BackendError(RuntimeError):
    """A backend could not bring an environment up; the message says why."""
