#!/usr/bin/env bash
# The decision-truth grid of docs/measurements.md#decision-truth-every-resolved-choice: every resolved choice (load mode,
# threads, ubatch, flash attention, KV cache) judged against the best configuration that ran, with the context filled,
# under a cgroup v1 memory limit per run. Needs root and a writable /sys/fs/cgroup/memory; takes about an hour on a
# 2-core machine and should run alone (timings are the point).
#   benchmarks/decision-truth/run.sh [OUT_DIR]        (default: a new folder under /tmp)
#   FLASHMOE_GRID_PARTS="grid extras arch scenarios flash" selects parts (default all five)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/flashmoe-decision-truth-XXXXXXXX")}
mkdir -p "$out"
parts=${FLASHMOE_GRID_PARTS:-grid extras arch scenarios flash}
dotnet build benchmarks/FlashMoe.Benchmarks -c Release -nologo -v q >/dev/null
sweep() { dotnet benchmarks/FlashMoe.Benchmarks/bin/Release/net10.0/FlashMoe.Benchmarks.dll ramsweep "$@"; }
common=(--ctx 2048 --tokens 64 --fill 1.0 --timeout 180 --wait-for-load 1.5)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); output in $out"
for part in $parts; do
  start=$(date +%s)
  case $part in
    grid) # the three llama-style models (nothing repacked, repacked Q4_0 experts, repacked K-quant experts), 0.8-1.5x
      sweep --quant q8_0,q4_0,q4_k --size 0.75GiB --ratios 1.5,1.3,1.2,1.15,1.1,1.05,1.0,0.95,0.9,0.8 \
        --configs mmap,nommap "${common[@]}" --out "$out/grid.md" ;;
    extras) # the choices made where everything fits: flash attention, threads, ubatch, cache type; 3 runs each
      sweep --quant q8_0 --size 0.75GiB --ratios 1.5 --configs mmap,nommap,nommap/fa-off,nommap/t1 \
        --repeats 2 "${common[@]}" --out "$out/extras.md" ;;
    arch) # a new architecture: qwen3moe with a K-quant mix, fitted to 0.75 GiB
      sweep --preset qwen3-30b-a3b --recipe q4_k_m --size 0.75GiB --ratios 1.5,1.2,1.1,1.0,0.9 \
        --configs mmap,nommap "${common[@]}" --out "$out/arch-qwen3moe.md" ;;
    scenarios) # scenarios nobody tuned for: presets x recipes x 0.5-1.6 GiB x 0.80-1.60, drawn from the seed
      sweep --scenarios 4 --seed 2026 "${common[@]}" --out "$out/scenarios.md" ;;
    flash) # the flash-attention rule against llama.cpp's default, where no-mmap fits and where it does not
      sweep --quant q8_0,q4_0 --size 0.75GiB --ratios 1.5,1.2,1.1,1.0 --configs mmap,nommap,nommap/fa-off \
        "${common[@]}" --out "$out/flash.md" ;;
    *) echo "unknown part: $part" >&2; exit 2 ;;
  esac
  echo "== $part took $(( $(date +%s) - start )) s; load now $(cut -d' ' -f1-3 /proc/loadavg)"
done
