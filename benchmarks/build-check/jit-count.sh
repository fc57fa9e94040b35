#!/usr/bin/env bash
# Counts the methods the .NET JIT compiles during the FIRST FlashMoeCheckProfiles run in a fresh process: the packed
# task (tasks/net8.0, ReadyToRun unless FLASHMOE_READY_TO_RUN=false) on measure.sh's consumer (5 profiles, sparse
# 121 GiB MoE), run by JitProbe with the SDK's own MSBuild assemblies. Unlike a timing, the count does not depend on
# machine load, so it is the figure to compare between builds of the task.
#   benchmarks/build-check/jit-count.sh [top-N] [runs]      (defaults 25 and 2; run 2+ are warm, timed, not counted)
# Prints the methods compiled after the probe's marker (the check's), by tier and by assembly/generic type (nothing
# left out: the probe's own engine methods are a group of their own), the top-N generic types, then each run's time
# and the load average. The JIT log is kept in the work folder (FLASHMOE_MEASURE_DIR keeps it).
# FLASHMOE_JIT_TASKS=<folder> counts another build of the task instead (e.g. an older package's tasks/net8.0).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=${1:-25}
runs=${2:-2}
work=${FLASHMOE_MEASURE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/flashmoe-jitcount-XXXXXXXX")}
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

source benchmarks/build-check/consumer.sh
nupkg=$(ls "$work"/feed/FlashMoe.*.nupkg | head -n1)
rm -rf "$work/package" && mkdir -p "$work/package"
(cd "$work/package" && unzip -q "$nupkg")
tasks=${FLASHMOE_JIT_TASKS:-$work/package/tasks/net8.0}
# The MSBuild that `dotnet build` runs: the SDK's own folder.
msbuild_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")/sdk/$(dotnet --version)"
dotnet build benchmarks/build-check/JitProbe -c Release -nologo -v q >/dev/null
probe=benchmarks/build-check/JitProbe/bin/Release/net10.0/JitProbe.dll

log="$work/jit.log"
rm -f "$log"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$log" dotnet "$probe" "$tasks" "$msbuild_dir" "$project" "$project/flashmoe.json" "$runs" \
  | sed 's/ \[.*//' | cut -c1-160
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Each line: "   N: JIT compiled Type:Method(args) [Tier, IL size=..., code size=...]". Cut at the probe's two markers.
awk '/FirstCheckEndsHere/ {exit} /FirstCheckStartsHere/ {seen=1; next} seen' "$log" >"$work/jit.check.log"
echo "JIT log: $log ($(grep -c 'JIT compiled' "$log") methods in the whole process)"
echo "methods JIT-compiled during the first check: $(grep -c 'JIT compiled' "$work/jit.check.log")"
echo "by tier (Tier1/OSR are background re-compilations of hot code, timing-dependent):"
sed -n 's/.*\[\([^,]*\),.*/\1/p' "$work/jit.check.log" | sort | uniq -c | sort -rn | sed 's/^/  /'
# Group by the declaring type with its generic arguments (e.g. Dictionary`2[System.String,FlashMoe.Json.JsonTextSpan]).
group() { sed -n 's/^ *[0-9]*: JIT compiled \(.*\) \[.*/\1/p' "$work/jit.check.log" | awk '{
    depth = 0; cut = 0
    for (i = 1; i <= length($0); i++) {
      c = substr($0, i, 1)
      if (c == "[") depth++; else if (c == "]") depth--
      else if (c == ":" && depth == 0) { cut = i; break }
    }
    print (cut ? substr($0, 1, cut - 1) : $0)
  }'; }
echo "by namespace of the declaring type:"
group | sed 's/`.*//; s/\[.*//' | awk -F. '{ ns = $1; if (NF > 2) ns = ns "." $2; print ns }' | sort | uniq -c | sort -rn | sed 's/^/  /'
echo "top $top declaring types (generic instantiations shown with their arguments):"
group | sort | uniq -c | sort -rn | head -n "$top" | cut -c1-200 | sed 's/^/  /'
