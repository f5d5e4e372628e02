#!/usr/bin/env bash
# CI's compose stage, one command: prepare Docker (engine, base image, wheelhouse, images), run
# the cold-start features of both modes and one fault scenario on `-D backend=compose`, and show
# that the stacks are gone afterwards. Works from a cold machine (no dockerd, no images) as root
# on Debian 12; docs/compose.md. Extra arguments go to behave (e.g. another feature file).
#
#   bash scripts/compose-stage.sh
#
# Last line: `N passed, N failed` (scenarios). Exit 0 only if prepare worked, every scenario
# passed and no container or volume of ours is left.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=reports/compose-stage
PROJECTS=(cos-pact-e2e-standalone cos-pact-e2e-integrated)
FAULT_FEATURE=features/policy_reload.feature
FAULT_SCENARIO="MC unreachable at cold start, then back"
T0=$SECONDS

echo "=== compose stage: bootstrap"
BOOTSTRAP_NPM=0 bash scripts/bootstrap.sh || { echo "0 passed, 1 failed"; exit 1; }

echo "=== compose stage: prepare (engine, base image, wheelhouse, images)"
if ! bash scripts/prepare-docker.sh; then
  echo "compose stage: prepare failed"
  echo "0 passed, 1 failed"
  exit 1
fi

fault_line="$(grep -n "Scenario: $FAULT_SCENARIO" "$FAULT_FEATURE" | head -1 | cut -d: -f1)"
[ -n "$fault_line" ] || { echo "compose stage: scenario '$FAULT_SCENARIO' not found in $FAULT_FEATURE"; exit 1; }
targets=(features/standalone_cold_start.feature features/integrated_cold_start.feature "$FAULT_FEATURE:$fault_line")
[ "$#" -gt 0 ] && targets+=("$@")

echo "=== compose stage: scenarios on backend=compose: ${targets[*]}"
rm -rf "$OUT"
mkdir -p "$OUT"
.venv/bin/behave -D backend=compose -D reports_dir="$OUT" -D log_dir="$OUT/logs" \
  --no-capture --no-skipped -f json -o "$OUT/behave.json" \
  -f allure_behave.formatter:AllureFormatter -o "$OUT/allure-results" -f plain "${targets[@]}"
behave_status=$?

echo "=== compose stage: summary"
leftovers=0
for project in "${PROJECTS[@]}"; do
  c="$(docker ps -aq --filter "label=com.docker.compose.project=$project" | wc -l)"
  v="$(docker volume ls -q --filter "label=com.docker.compose.project=$project" | wc -l)"
  n="$(docker network ls -q --filter "label=com.docker.compose.project=$project" | wc -l)"
  echo "stack down: $project — $c containers, $v volumes, $n networks left"
  leftovers=$((leftovers + c + v + n))
done
.venv/bin/python - "$OUT" <<'EOF'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
prep = json.loads(Path("reports/prepare-docker.json").read_text())
print(
    f"images: {prep['images']}; prepare {prep['total_s']}s "
    f"(engine {prep['engine_s']}s, base {prep['base_s']}s, wheelhouse {prep['wheelhouse_s']}s, "
    f"images {prep['images_s']}s)"
)
colds = json.loads((out / "cold-starts.json").read_text()) if (out / "cold-starts.json").exists() else {}
for mode in ("standalone", "integrated"):
    t = colds.get(mode)
    if not t:
        print(f"{mode}: did not come up")
        continue
    healthy = ", ".join(f"{k.removesuffix('_start_to_healthy_s')} {v:.2f}s" for k, v in t.items()
                        if k.endswith("_start_to_healthy_s"))
    print(
        f"{mode}: up and healthy (compose up --wait) in {t['launch_to_ready_s']:.2f}s, first verified "
        f"decision at {t['launch_to_first_verified_decision_s']:.2f}s; start → healthy: {healthy}"
    )
passed = failed = 0
report = out / "behave.json"
for feature in json.loads(report.read_text()) if report.exists() and report.read_text().strip() else []:
    for el in feature.get("elements", []):
        if el.get("type") != "scenario" or el.get("status") in ("skipped", "untested"):
            continue
        ok = el.get("status") == "passed"
        passed += ok
        failed += not ok
        print(f"scenario {'PASSED' if ok else 'FAILED'}: {el['location']} {el['name']}")
Path(out / "counts").write_text(f"{passed} {failed}\n")
EOF
read -r passed failed < "$OUT/counts" || { passed=0; failed=1; }
if [ "$leftovers" -gt 0 ]; then
  echo "compose stage: containers, volumes or networks of ours were left behind"
  failed=$((failed + 1))
fi
[ "$behave_status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "compose stage: $((SECONDS - T0))s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
