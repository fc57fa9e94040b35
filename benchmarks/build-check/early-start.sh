#!/usr/bin/env bash
# Build wall time with the check started early on a worker thread (the default) against the check inside its own
# target (-p:FlashMoeCheckEarly=false), on measure.sh's consumer: builds alternate between the two, so drifting load
# hits both alike. Prints each mode's wall time (mean, median, min, max) and its two targets' medians.
#   benchmarks/build-check/early-start.sh [pairs] [full|noop]      (defaults 20 and full: the cache deleted before each build)
# FLASHMOE_MEASURE_DIR reuses the consumer measure.sh left there (else a new one is packed and written).
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${1:-20}
mode=${2:-full}
work=${FLASHMOE_MEASURE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/flashmoe-earlystart-XXXXXXXX")}
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ -f "$work/consumer/Consumer.csproj" ]; then project="$work/consumer"; else source benchmarks/build-check/consumer.sh; fi
dotnet restore "$project" -nologo -v q >/dev/null
dotnet build "$project" --no-restore -c Release -nologo -v q >/dev/null   # the first build's restore-time costs stay out

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
results="$work/early-start.tsv"
: >"$results"
target_ms() { awk -v name="$2" '/Target Performance Summary/{t=1} t && $3 == name {print $1; exit}' "$1"; }
for i in $(seq 1 "$pairs"); do
  for early in true false; do
    [ "$mode" = full ] && rm -f "$project/obj/Release/net10.0/flashmoe.check.cache"
    log="$work/early-start.log"
    start=$(date +%s%N)
    dotnet build "$project" --no-restore -c Release -nologo -clp:PerformanceSummary -v:m -p:FlashMoeCheckEarly=$early >"$log" 2>&1
    end=$(date +%s%N)
    printf '%s\t%d\t%s\t%s\n' "$early" $(((end - start) / 1000000)) "$(target_ms "$log" _FlashMoeStartProfileCheck)" \
      "$(target_ms "$log" FlashMoeCheckProfiles)" >>"$results"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# column: 2 wall, 3 start target, 4 check target; prints "mean median min max" of that column for one mode
stats() { awk -F'\t' -v e="$1" -v c="$2" '$1 == e { print ($c == "" ? 0 : $c) }' "$results" | sort -n |
  awk '{ v[NR] = $1; s += $1 } END { printf "mean %d, median %d, min %d, max %d", s / NR, v[int((NR + 1) / 2)], v[1], v[NR] }'; }
for early in true false; do
  label=$([ "$early" = true ] && echo "started early" || echo "inside target")
  echo "$label ($mode, $pairs builds): wall $(stats "$early" 2) ms"
  echo "    _FlashMoeStartProfileCheck $(stats "$early" 3) ms; FlashMoeCheckProfiles $(stats "$early" 4) ms"
done
