"""Integrated mode: keep COS enforcing MC's current pack, verified, without a failed request.

One poll (`poll_once`):
 1. pin MC's key (flag, stored pin, or trust on first use);
 2. hold a scoped token (`policy:read evidence:write`), renewed before expiry;
 3. `GET /v1/policy/packs/{pack}` with `If-None-Match` listing the active
    pack's ETag and those of recently rejected packs → 304: nothing to do;
 4. on 200 verify, in order: `Content-Digest` against the bytes, the ETag
    against their SHA-256, the DSSE attestation for exactly that digest
    (`GET …/attestation?digest=<hex>`) against the pinned key, the bundle,
    and that the Rego compiles and answers `allow`;
 5. write the pack + envelope as the last-known-good (temp → fsync → rename),
    then replace the one `PolicyHolder` reference with the fully built policy.
A rejected pack is counted once in `policy_reload_failure_total{reason}` and
remembered by digest, so later polls neither re-download nor re-count it
(it is looked at again after `REJECT_RECHECK_S`); the LKG stays active.

Polls run every `poll_interval` ± 20 % jitter (so a fleet does not poll in
lockstep). A poll that cannot complete (MC unreachable, 5xx, token refused)
is retried with tenacity's exponential backoff with jitter, capped, and
recorded in `policy_fetch_errors_total{reason}` and /healthz.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from companyos import mutations as mut
from companyos.credentials import CredentialError, TokenCache
from companyos.health import RuntimeStatus
from companyos.key_watch import KeyWatch
from companyos.mc_client import ConductorClient
from companyos.metrics import Metrics
from companyos.mutations import Mutations
from companyos.policy_engine import ActivePolicy, PolicyHolder, PolicyLoadError, load
from companyos.policy_store import PolicyStore
from companyos.trust import KeyPin
from seam import bundle, digest, dsse

log = logging.getLogger("companyos.policy_fetcher")

REJECT_RECHECK_S = 60.0


class FetchError(Exception):
    """The poll could not complete; retry with backoff. `reason` labels the metric."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class PackRejected(Exception):
    """MC served bytes COS must not enforce. `reason` labels policy_reload_failure_total."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Rejection:
    reason: str
    at: float


def strip_weak(etag: str) -> str:
    return etag.strip().removeprefix("W/")


class PolicyFetcher:
    def __init__(
        self,
        pack: str,
        client: ConductorClient,
        tokens: TokenCache,
        pin: KeyPin,
        store: PolicyStore,
        holder: PolicyHolder,
        metrics: Metrics,
        status: RuntimeStatus,
        *,
        poll_interval_s: float,
        backoff_cap_s: float,
        mutations: Mutations | None = None,
        key_watch: KeyWatch | None = None,
    ) -> None:
        self.pack = pack
        self._key_watch = key_watch
        self._client = client
        self._tokens = tokens
        self._pin = pin
        self._store = store
        self._holder = holder
        self._metrics = metrics
        self._status = status
        self._interval = poll_interval_s
        self._cap = backoff_cap_s
        self._mutations = mutations or Mutations()
        self.rejected: dict[str, Rejection] = {}  # digest hex → why
        self.polls = 0

    # -- loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self._poll_with_backoff()
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))

    async def _poll_with_backoff(self) -> None:
        wait = tenacity.wait_exponential_jitter(
            multiplier=min(0.5, self._interval), max=self._cap, jitter=min(0.5, self._interval)
        )
        if self._mutations.active(mut.FETCH_NO_BACKOFF):  # test-only: hammer a failing MC at a fixed pace
            wait = tenacity.wait_fixed(min(0.5, self._interval))
        retrying = tenacity.AsyncRetrying(
            wait=wait,
            retry=tenacity.retry_if_exception_type(Exception),
            stop=tenacity.stop_never,
            before_sleep=self._record_failure,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self.poll_once()
        self._status.fetch_backoff_s = 0.0
        self._status.last_fetch_error = None
        self._metrics.policy_fetch_backoff.set(0)

    def _record_failure(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = exc.reason if isinstance(exc, FetchError) else f"internal_{type(exc).__name__}"
        delay = state.next_action.sleep if state.next_action else 0.0
        self._metrics.policy_fetch_errors.labels(reason).inc()
        self._metrics.policy_fetch_backoff.set(delay)
        self._status.fetch_backoff_s = delay
        self._status.last_fetch_error = {
            "reason": reason,
            "attempt": state.attempt_number,
            "backoff_s": round(delay, 3),
            "at": time.time(),
        }
        level = (
            logging.WARNING if state.attempt_number <= 3 or state.attempt_number % 20 == 0 else logging.DEBUG
        )
        log.log(
            level, "pack poll failed (%s), attempt %d; retrying in %.2fs", reason, state.attempt_number, delay
        )
        if not isinstance(exc, FetchError):
            log.error("unexpected pack poll error: %s", type(exc).__name__)

    # -- one poll ---------------------------------------------------------------------------
    async def poll_once(self) -> str:
        """One poll; returns unchanged|reloaded|rejected|known-rejected. Raises FetchError."""
        self.polls += 1
        key = await self._ensure_key()
        if self._key_watch is not None:
            await self._key_watch.check_if_due()
        token = await self._token()
        current = self._holder.current
        started = time.perf_counter()
        try:
            result = await self._client.fetch_pack(self.pack, self._if_none_match(current), token=token)
        except httpx.TransportError as exc:
            self._metrics.policy_fetch_duration.labels("error").observe(time.perf_counter() - started)
            self._status.mc_down()
            raise FetchError("unreachable", type(exc).__name__) from None
        self._metrics.policy_fetch_duration.labels(str(result.status)).observe(time.perf_counter() - started)
        self._check_status(result.status, "pack")
        if result.status == 304:
            return "unchanged"
        if result.status != 200:
            raise FetchError(f"pack_http_{result.status}", result.reason or "")
        body = result.content
        hex_digest = digest.sha256_hex(body)
        if current is not None and current.source == "mc" and current.digest == hex_digest:
            return "unchanged"  # MC ignored If-None-Match; same bytes
        if self._known_rejected(hex_digest):
            return "known-rejected"
        # Test-only mutation: no pack decides while the new one is being verified and stored. The
        # gap lasts at least PARKED_MIN_S (what verifying and storing takes on a slower disk or a
        # bigger pack), so the proof does not depend on how fast this machine reloads: once the
        # reload path got quick, a gap of a few ms let the mutation slip past 1 run in 7.
        parked = None
        if self._mutations.active(mut.RELOAD_BLOCKS_REQUESTS):
            parked = self._holder.park()
            await asyncio.sleep(mut.PARKED_MIN_S)
        try:
            policy, envelope = await self._verify(result.headers, body, hex_digest, key, token)
        except PackRejected as exc:
            self._unpark(parked)
            self._reject(hex_digest, result.revision, exc)
            if self._mutations.active(mut.REJECTED_PACK_ENFORCED):
                self._enforce_rejected(body)
            return "rejected"
        except BaseException:
            self._unpark(parked)
            raise
        await asyncio.to_thread(
            self._store.save_lkg,
            body,
            envelope,
            {
                "pack": policy.pack,
                "revision": policy.revision,
                "source": "mc",
                "signature_verified": True,
                "loaded_at": policy.loaded_at,
            },
        )
        old = self._holder.swap(policy) or parked
        old_label = f"{old.revision} ({old.source})" if old else "none"
        if old is not None:
            old.release()  # no request holds it across an await; drop its engine on this thread
        self.rejected.pop(hex_digest, None)
        self._metrics.policy_reload_success.inc()
        self._metrics.set_active(policy.pack, policy.revision, policy.digest, policy.source, policy.loaded_at)
        self._status.reload(
            "success", pack=policy.pack, revision=policy.revision, digest=policy.digest, source="mc"
        )
        log.info(
            "enforcing pack %s revision %s (%s…) from MC; was %s",
            policy.pack,
            policy.revision,
            policy.digest[:12],
            old_label,
        )
        return "reloaded"

    def _unpark(self, parked: ActivePolicy | None) -> None:
        if parked is not None and self._holder.current is None:
            self._holder.swap(parked)

    def _enforce_rejected(self, body: bytes) -> None:
        """Test-only mutation `cos.rejected-pack-enforced`: the rejected pack replaces the LKG."""
        try:
            policy = load(body, source="mc", signature_verified=True, expected_name=self.pack)
        except (bundle.BundleError, PolicyLoadError):
            return
        old = self._holder.swap(policy)
        if old is not None:
            old.release()

    def _if_none_match(self, current: ActivePolicy | None) -> str | None:
        tags = []
        if current is not None and current.source == "mc":
            tags.append(digest.strong_etag(current.digest))
        tags += [digest.strong_etag(d) for d in self.rejected if self._known_rejected(d)]
        return ", ".join(tags) or None

    def _known_rejected(self, hex_digest: str) -> bool:
        rejection = self.rejected.get(hex_digest)
        if rejection is None:
            return False
        if time.time() - rejection.at > REJECT_RECHECK_S:
            del self.rejected[hex_digest]
            return False
        return True

    def _check_status(self, status: int, what: str) -> None:
        """Statuses that mean 'try again later' rather than 'this pack is bad'."""
        if status in (502, 503, 504):
            self._status.mc_down()
            raise FetchError(f"{what}_http_{status}")
        self._status.mc_ok()
        if status == 401:
            self._tokens.invalidate()
            raise FetchError(f"{what}_unauthorized")
        if status == 403:
            raise FetchError(f"{what}_forbidden")
        if status == 404 and what == "pack":
            raise FetchError("unknown_pack", self.pack)
        if status == 429 or status >= 500:
            raise FetchError(f"{what}_http_{status}")

    async def _ensure_key(self) -> Any:
        if self._pin.key is not None:
            return self._pin.key
        try:
            result = await self._client.public_key_pem()
        except httpx.TransportError as exc:
            self._status.mc_down()
            raise FetchError("unreachable", type(exc).__name__) from None
        self._check_status(result.status, "key")
        if result.status != 200 or not result.pem:
            raise FetchError(f"key_http_{result.status}")
        try:
            return await asyncio.to_thread(self._pin.trust_on_first_use, result.pem)
        except ValueError as exc:
            raise FetchError("key_invalid", str(exc)) from None

    async def _token(self) -> str:
        try:
            return await self._tokens.token()
        except CredentialError as exc:
            self._status.mc_ok()
            raise FetchError(f"token_{exc.reason}") from None
        except httpx.TransportError as exc:
            self._status.mc_down()
            raise FetchError("unreachable", type(exc).__name__) from None

    async def _verify(
        self, headers: dict[str, str], body: bytes, hex_digest: str, key: Any, token: str
    ) -> tuple[ActivePolicy, dict[str, Any]]:
        header = headers.get("content-digest")
        if not header:
            raise PackRejected("missing_content_digest", "pack response has no Content-Digest")
        try:
            digest.verify_content_digest(header, body)
        except digest.DigestError as exc:
            raise PackRejected("content_digest_mismatch", str(exc)) from None
        etag = headers.get("etag")
        if etag and strip_weak(etag) != digest.strong_etag(hex_digest):
            raise PackRejected("etag_mismatch", "ETag is not the SHA-256 of the pack bytes")
        envelope = await self._attestation(hex_digest, token)
        if not envelope.get("signatures"):
            raise PackRejected("unsigned", "attestation carries no signature")
        if self._mutations.active(mut.PACK_SIGNATURE_UNCHECKED):
            statement = _unverified_statement(envelope, self.pack, hex_digest)
        else:
            statement = _verified_statement(envelope, key, self.pack, hex_digest)
        try:
            # On the event loop thread on purpose: regorus engines are unsendable (pyo3), so an
            # engine must be built, used and dropped on the thread that serves decisions.
            policy = load(body, source="mc", signature_verified=True, expected_name=self.pack)
        except bundle.BundleError as exc:
            raise PackRejected("invalid_bundle", str(exc)) from None
        except PolicyLoadError as exc:
            raise PackRejected("policy_compile_error", str(exc)) from None
        attested_revision = (statement.get("predicate") or {}).get("revision")
        if attested_revision is not None and str(attested_revision) != policy.revision:
            policy.release()
            raise PackRejected(
                "revision_mismatch",
                f"attested revision {attested_revision!r} != manifest {policy.revision!r}",
            )
        return policy, envelope

    async def _attestation(self, hex_digest: str, token: str) -> dict[str, Any]:
        try:
            result = await self._client.fetch_attestation(self.pack, hex_digest, token=token)
        except httpx.TransportError as exc:
            self._status.mc_down()
            raise FetchError("unreachable", type(exc).__name__) from None
        self._check_status(result.status, "attestation")
        if result.status == 404:
            raise PackRejected("attestation_missing", "MC has no attestation for this digest")
        if result.status != 200:
            raise FetchError(f"attestation_http_{result.status}")
        if result.envelope is None:
            raise PackRejected("attestation_malformed", "attestation is not a JSON object")
        return result.envelope

    def _reject(self, hex_digest: str, revision: str | None, exc: PackRejected) -> None:
        self.rejected[hex_digest] = Rejection(reason=exc.reason, at=time.time())
        if exc.reason == "bad_signature" and self._key_watch is not None:
            self._key_watch.suspect()  # did MC change its key? the next poll asks
        self._metrics.policy_reload_failure.labels(exc.reason).inc()
        current = self._holder.current
        self._status.reload(
            "rejected",
            reason=exc.reason,
            revision=revision,
            digest=hex_digest,
            kept=current.revision if current else None,
        )
        log.warning(
            "rejected pack %s revision %s (%s…): %s — keeping %s",
            self.pack,
            revision or "?",
            hex_digest[:12],
            exc,
            f"{current.revision} ({current.source})" if current else "nothing",
        )


def _verified_statement(envelope: dict[str, Any], key: Any, pack: str, hex_digest: str) -> dict[str, Any]:
    """The attested statement, once the signature verifies and the subject is exactly these bytes."""
    try:
        dsse.verify(envelope, key)
    except dsse.AttestationError as exc:
        raise PackRejected("bad_signature", str(exc)) from None
    try:
        return dsse.verify_pack(envelope, key, pack, hex_digest)
    except dsse.AttestationError as exc:
        raise PackRejected("digest_mismatch", str(exc)) from None


def _unverified_statement(envelope: dict[str, Any], pack: str, hex_digest: str) -> dict[str, Any]:
    """Test-only mutation `cos.pack-signature-unchecked`: the subject is checked, no signature is."""
    try:
        statement = json.loads(base64.b64decode(envelope["payload"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PackRejected("attestation_malformed", str(exc)) from None
    for subject in statement.get("subject") or []:
        if subject.get("name") == pack and (subject.get("digest") or {}).get("sha256") == hex_digest:
            return statement
    raise PackRejected("digest_mismatch", "attested subject digest does not match the pack bytes")
