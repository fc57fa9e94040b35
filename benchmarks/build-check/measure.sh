#!/usr/bin/env bash
# Times the build check's targets in real `dotnet build` runs of a consumer project that references the
# packed FlashMoe package: 5 profiles over a sparse 121 GiB synthetic MoE (header-faithful; ≈ 3 MB on disk).
#   benchmarks/build-check/measure.sh [no-op-builds] [cold-check-builds]      (defaults 5 and 3)
# Prints the targets' times (from -clp:PerformanceSummary) for the first build after restore, for each no-op rebuild,
# and for rebuilds with the check's cache file deleted (a full check in a warm build: what an edited profile costs),
# plus each build's wall time. FLASHMOE_READY_TO_RUN=false packs the task as plain IL (for comparison);
# FLASHMOE_BUILD_ARGS adds arguments to every build (e.g. -p:FlashMoeCheckEarly=false: the check inside its own target).
# Everything lives in a new temp folder (FLASHMOE_MEASURE_DIR keeps it).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
runs=${1:-5}
cold=${2:-3}
work=${FLASHMOE_MEASURE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/flashmoe-buildcheck-XXXXXXXX")}
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
source benchmarks/build-check/consumer.sh

# The check's two targets: _FlashMoeStartProfileCheck starts it on a worker thread, FlashMoeCheckProfiles waits and logs.
target_ms() { awk -v name="$2" '/Target Performance Summary/{t=1} t && $3 == name {print $1; exit}' "$1"; }
build() { # label
  local log="$work/build-$1.log" start end
  start=$(date +%s%N)
  dotnet build "$project" --no-restore -c Release -nologo -clp:PerformanceSummary -v:m ${FLASHMOE_BUILD_ARGS:-} >"$log" 2>&1
  end=$(date +%s%N)
  printf '%-8s start %4s ms   check %4s ms   build %5d ms   FM warning lines %s\n' "$1" "$(target_ms "$log" _FlashMoeStartProfileCheck)" \
    "$(target_ms "$log" FlashMoeCheckProfiles)" $(((end - start) / 1000000)) \
    "$(grep -c 'warning FM' "$log" || true)"
}
dotnet restore "$project" -nologo -v q >/dev/null
build first
for i in $(seq 1 "$runs"); do build "no-op-$i"; done
for i in $(seq 1 "$cold"); do rm -f "$project/obj/Release/net10.0/flashmoe.check.cache"; build "check-$i"; done
grep -h 'warning FM' "$work/build-first.log" | sed 's/ \[.*//' | sort -u | cut -c1-160
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
