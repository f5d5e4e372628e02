"""`python -m contracts <command>` — the contract gates (docs/contracts.md).

gate            every gate: consumer tests + drift, scrub, pacts vs OpenAPI, verify MC and COS,
                mutation proof; with PACT_BROKER_BASE_URL, then (only if all passed) publish to
                the broker and verify from it; non-zero on failure
consumer        run the consumer tests, writing pacts to --out (default: a temp dir)
drift           regenerate into a temp dir and compare with contracts/pacts/
accept          regenerate into contracts/pacts/ (the contract-update step; then review + commit)
verify          verify the committed pacts against the real providers; record the matrix
scrub           fail if any pact holds a secret-looking value
mutations       prove every seam mutation makes verification fail
can-i-deploy    answer from the matrix: --pacticipant NAME --version V [--with OTHER=V];
                with --broker, ask PACT_BROKER_BASE_URL (--to-environment ENV or --to TAG)
matrix          print the verification matrix
version         print a pacticipant's current version
publish         the gate, publishing to PACT_BROKER_BASE_URL at its end (only if all passed)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from contracts import COS, MC, PACTICIPANTS, REPO, consumers, drift, gate, matrix, mutations, versions


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def cmd_gate(args: argparse.Namespace) -> int:
    started = time.monotonic()
    results = gate.run(skip_mutations=args.skip_mutations)
    print("\n" + gate.summary(results))
    ok = all(r.ok for r in results)
    print(f"\ncontract gate {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1


def cmd_consumer(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="contracts-consumer-"))
    for path in consumers.generate(out):
        print(_rel(path))
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    result = drift.check()
    print(result.report())
    return 0 if result.ok else 1


def cmd_accept(args: argparse.Namespace) -> int:
    for path in drift.accept():
        print(f"wrote {_rel(path)}")
    print("Review with `git diff contracts/pacts`, then commit the pacts together with the consumer change.")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from contracts import broker, verify

    ok = True
    for provider in args.provider or [MC, COS]:
        if args.broker:
            if not broker.configured():
                print("--broker needs PACT_BROKER_BASE_URL", file=sys.stderr)
                return 2
            verified, output = verify.verify_from_broker(provider, publish=not args.no_publish)
            print(output)
            ok = ok and verified
            continue
        step = gate.provider_verification(provider, record=not args.no_record)
        print(step.report)
        ok = ok and step.ok
    return 0 if ok else 1


def cmd_scrub(args: argparse.Namespace) -> int:
    from contracts import PACT_DIR, pactfile, scrub

    paths = [Path(p) for p in args.files] if args.files else pactfile.committed(PACT_DIR)
    findings = scrub.scan(paths)
    print(scrub.report(findings, len(paths)))
    return 0 if not findings else 1


def cmd_mutations(args: argparse.Namespace) -> int:
    step = gate.mutation_proof(
        args.only,
        progress=lambda r: print(
            f"  {r.name:<40} {'caught' if r.caught else 'NOT CAUGHT'} {r.seconds:5.1f}s", flush=True
        ),
        announce=lambda line: print(line, flush=True),
        write_docs=not args.no_docs,
    )
    print(step.report)
    if not args.only and not args.no_docs:
        print(f"table written to {_rel(mutations.GENERATED)}")
    return 0 if step.ok else 1


def _pins(values: list[str]) -> dict[str, str]:
    pins = {}
    for value in values:
        name, _, version = value.partition("=")
        if not version:
            raise SystemExit(f"--with expects OTHER=VERSION, got {value!r}")
        pins[name] = version
    return pins


def cmd_can_i_deploy(args: argparse.Namespace) -> int:
    version = args.version or versions.version_of(args.pacticipant)
    if args.broker:
        return _can_i_deploy_broker(args, version)
    if args.to_environment or args.to:
        print("--to-environment / --to need --broker (the file matrix has no environments)", file=sys.stderr)
        return 2
    rows = matrix.load(Path(args.matrix) if args.matrix else None)
    answer = matrix.can_i_deploy(args.pacticipant, version, _pins(args.with_), rows)
    print(answer.render())
    return 0 if answer.deployable else 1


def _can_i_deploy_broker(args: argparse.Namespace, version: str) -> int:
    from contracts import broker

    if not broker.configured():
        print("--broker needs PACT_BROKER_BASE_URL", file=sys.stderr)
        return 2
    if bool(args.to_environment) == bool(args.to):
        print("can-i-deploy --broker needs exactly one of --to-environment ENV or --to TAG", file=sys.stderr)
        return 2
    if args.with_:
        print("--with is for the file matrix; the broker answers for what is in the target", file=sys.stderr)
        return 2
    with broker.Broker.from_env() as client:
        answer = client.can_i_deploy(args.pacticipant, version, environment=args.to_environment, tag=args.to)
    print(answer.render())
    return 0 if answer.deployable else 1


def cmd_matrix(args: argparse.Namespace) -> int:
    path = matrix.matrix_path(Path(args.matrix) if args.matrix else None)
    if args.merge:
        matrix.merge([Path(m) for m in args.merge], path)
    rows = matrix.load(path)
    print(f"{_rel(path)}: {len(rows)} rows")
    for r in rows:
        print(
            f"{r.verified_at}  {r.consumer} {r.consumer_version} → {r.provider} {r.provider_version}  "
            f"{'ok' if r.success else 'FAILED'} ({r.interactions - r.failed}/{r.interactions})  "
            f"pact {r.pact_sha256[:12]}"
        )
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    print(versions.version_of(args.pacticipant))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Publishing is the gate's last step: it happens only after every other gate passed."""
    from contracts import broker

    if not broker.configured():
        print("PACT_BROKER_BASE_URL is not set; nothing to publish to", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = gate.run(tags=args.tag)
    print("\n" + gate.summary(results))
    ok = all(r.ok for r in results)
    print(
        f"\ncontract gate and publication {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s"
    )
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m contracts", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("gate", help="run every contract gate")
    p.add_argument("--skip-mutations", action="store_true", help="leave out the mutation proof (~1.5 min)")
    p.set_defaults(func=cmd_gate)
    p = sub.add_parser("consumer", help="run the consumer tests")
    p.add_argument("--out", help="directory for the generated pacts")
    p.set_defaults(func=cmd_consumer)
    sub.add_parser("drift", help="compare regenerated pacts with the committed ones").set_defaults(
        func=cmd_drift
    )
    sub.add_parser("accept", help="regenerate contracts/pacts/").set_defaults(func=cmd_accept)
    p = sub.add_parser("verify", help="verify the committed pacts against the real providers")
    p.add_argument("--provider", action="append", choices=[MC, COS])
    p.add_argument("--no-record", action="store_true", help="do not write the matrix")
    p.add_argument("--broker", action="store_true", help="verify the pacts PACT_BROKER_BASE_URL selects")
    p.add_argument("--no-publish", action="store_true", help="with --broker: do not publish results")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("scrub", help="fail on secret-looking values in pacts")
    p.add_argument("files", nargs="*")
    p.set_defaults(func=cmd_scrub)
    p = sub.add_parser("mutations", help="prove every seam mutation is caught")
    p.add_argument("--only", action="append", help="just this mutation (repeatable)")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/mutations-contracts.md")
    p.set_defaults(func=cmd_mutations)
    p = sub.add_parser("can-i-deploy", help="answer from the verification matrix (or --broker)")
    p.add_argument("--pacticipant", required=True, choices=list(PACTICIPANTS))
    p.add_argument("--version", help="default: the pacticipant's current version")
    p.add_argument("--with", dest="with_", action="append", default=[], metavar="OTHER=VERSION")
    p.add_argument("--matrix", help="matrix file (default reports/contracts/matrix.json)")
    p.add_argument("--broker", action="store_true", help="ask the Pact Broker at PACT_BROKER_BASE_URL")
    p.add_argument("--to-environment", help="with --broker: the environment to deploy to")
    p.add_argument("--to", help="with --broker: the tag naming the environment (legacy)")
    p.set_defaults(func=cmd_can_i_deploy)
    p = sub.add_parser("matrix", help="print the verification matrix")
    p.add_argument("--matrix")
    p.add_argument("--merge", action="append", metavar="FILE", help="first fold in another matrix file")
    p.set_defaults(func=cmd_matrix)
    p = sub.add_parser("version", help="print a pacticipant's version")
    p.add_argument("--pacticipant", required=True, choices=list(PACTICIPANTS))
    p.set_defaults(func=cmd_version)
    p = sub.add_parser("publish", help="run the gate, then publish the pacts to the broker")
    p.add_argument("--tag", action="append")
    p.set_defaults(func=cmd_publish)
    return parser


def main(argv: list[str] | None = None) -> int:
    from contracts.broker import BrokerError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokerError as exc:  # a refusing or unreachable broker is a reason, not a traceback
        print(f"pact broker: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
