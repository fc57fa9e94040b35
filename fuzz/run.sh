#!/usr/bin/env bash
# Coverage-guided fuzzing of FlashMoe.Core's two untrusted-input parsers with AFL++ and SharpFuzz.
#   fuzz/run.sh [seconds-per-target] [target ...]      targets: gguf profile (default: both)
# Builds fuzz/FlashMoe.Fuzz, instruments FlashMoe.Core.dll, writes the seed corpora, runs afl-fuzz for the given
# time per target, prints AFL's figures, and exits 1 if any target saved a crash. Reproduce a crash with an
# uninstrumented build: `dotnet build fuzz/FlashMoe.Fuzz -c Release -o <dir>` then
# `dotnet <dir>/FlashMoe.Fuzz.dll replay <target> <out>/findings-<target>/default/crashes`.
# Needs afl-fuzz (Debian/Ubuntu package afl++). FLASHMOE_FUZZ_OUT keeps the work folder (default: a new temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf profile)

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found (apt-get install afl++)" >&2; exit 2; }
out=${FLASHMOE_FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/flashmoe-fuzz-XXXXXXXX")}
mkdir -p "$out"
build="$out/build"

dotnet build fuzz/FlashMoe.Fuzz -c Release -o "$build" -nologo -v q
# Seeds first: instrumented code only runs under AFL (it writes to AFL's shared coverage map).
rm -rf "$out/seeds"
dotnet "$build/FlashMoe.Fuzz.dll" seeds "$out/seeds" "$PWD" >/dev/null
dotnet tool restore >/dev/null
dotnet sharpfuzz "$build/FlashMoe.Core.dll" >/dev/null

# dotnet is not AFL-instrumented (SharpFuzz instruments the managed code): skip AFL's binary check. The machine is
# shared and often in a container: no CPU pinning, no core_pattern or CPU-governor demands.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

status=0
for target in "${targets[@]}"; do
  findings="$out/findings-$target"
  rm -rf "$findings"
  echo "== fuzzing $target for ${seconds}s (findings in $findings)"
  # -t: per-input timeout in ms (generous: a shared 2-core machine stalls); -m none: the CLR reserves far more
  # address space than it uses.
  afl-fuzz -i "$out/seeds/$target" -o "$findings" -V "$seconds" -t 5000 -m none -- dotnet "$build/FlashMoe.Fuzz.dll" "$target" >"$out/afl-$target.log" 2>&1 || {
    echo "afl-fuzz failed for $target:"; tail -30 "$out/afl-$target.log"; status=1; continue; }
  stats="$findings/default/fuzzer_stats"
  awk -F' *: *' -v t="$target" '
    $1=="run_time"{rt=$2} $1=="execs_done"{e=$2} $1=="execs_per_sec"{eps=$2} $1=="corpus_count"{c=$2}
    $1=="bitmap_cvg"{cov=$2} $1=="saved_crashes"{cr=$2} $1=="saved_hangs"{h=$2}
    END { printf "%s: %s s, %s execs (%s/s), corpus %s, bitmap %s, crashes %s, hangs %s\n", t, rt, e, eps, c, cov, cr, h }' "$stats"
  crashes=$(find "$findings/default/crashes" -type f -name 'id:*' | wc -l)
  if [ "$crashes" -gt 0 ]; then
    echo "CRASH: $target saved $crashes crashing input(s):"
    cat "$findings"/default/crashes/id:* | head -c 2000 | od -c | head -20 || true
    status=1
  fi
done
exit "$status"
