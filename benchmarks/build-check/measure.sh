#!/usr/bin/env bash
# Times the FlashMoeCheckProfiles target in real `dotnet build` runs of a consumer project that references the
# packed FlashMoe package: 5 profiles over a sparse 121 GiB synthetic MoE (header-faithful; ≈ 3 MB on disk).
#   benchmarks/build-check/measure.sh [no-op-builds] [cold-check-builds]      (defaults 5 and 3)
# Prints the target's time (from -clp:PerformanceSummary) for the first build after restore, for each no-op rebuild,
# and for rebuilds with the check's cache file deleted (a full check in a warm build: what an edited profile costs),
# plus each build's wall time. FLASHMOE_READY_TO_RUN=false packs the task as plain IL (for comparison).
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
rm -rf "$work/feed"
pack_args=()
[ -z "${FLASHMOE_READY_TO_RUN:-}" ] || pack_args=("-p:FlashMoeTasksReadyToRun=$FLASHMOE_READY_TO_RUN")
dotnet pack src/FlashMoe.Package -c Release -o "$work/feed" -nologo -v q "${pack_args[@]}" >/dev/null
dotnet build src/FlashMoe.Tool -c Release -nologo -v q >/dev/null
project="$work/consumer"
rm -rf "$project" "$work/packages"
mkdir -p "$project/models"
dotnet src/FlashMoe.Tool/bin/Release/net8.0/flashmoe.dll synth "$project/models/big-moe.gguf" --preset big-moe --target-size 121GiB --sparse >/dev/null

cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources>
    <clear />
    <add key="flashmoe-local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <clear />
    <packageSource key="flashmoe-local"><package pattern="FlashMoe" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
cat >"$project/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="FlashMoe" Version="0.1.0" />
  </ItemGroup>
</Project>
XML
echo 'namespace Consumer; public static class Marker { }' >"$project/Marker.cs"
# Five machines for one model: the seed workstation (FM1002), CPU-only boxes, a bigger GPU, a small box that does not fit.
profile() { # name ram cores gpus mmap gpuLayers
  cat <<JSON
    "$1": {
      "hardware": { "ramGiB": $2, "cpu": { "physicalCores": $3, "logicalCores": $(($3 * 2)) }, "gpus": [ $4 ], "storage": "nvme" },
      "model": { "path": "models/big-moe.gguf" },
      "load": { "mmap": $5, "gpuLayers": $6, "expertsOnCpu": true, "contextSize": 4096 }
    }
JSON
}
{
  echo '{ "profiles": {'
  profile ArcWorkstation 128 6 '{ "name": "Arc A770", "vramGiB": 16, "backend": "vulkan" }' true '"all"'; echo ,
  profile CpuServer 256 32 '' '"auto"' 0; echo ,
  profile CpuDesktop 96 8 '' true 0; echo ,
  profile BigGpu 192 16 '{ "name": "RTX 4090", "vramGiB": 24, "backend": "cuda" }' '"auto"' '"auto"'; echo ,
  profile SmallBox 64 4 '{ "name": "RTX 3060", "vramGiB": 12, "backend": "cuda" }' '"auto"' '"auto"'
  echo '} }'
} >"$project/flashmoe.json"

target_ms() { awk '/Target Performance Summary/{t=1} t && /FlashMoeCheckProfiles/ {print $1; exit}' "$1"; }
build() { # label
  local log="$work/build-$1.log" start end
  start=$(date +%s%N)
  dotnet build "$project" --no-restore -c Release -nologo -clp:PerformanceSummary -v:m >"$log" 2>&1
  end=$(date +%s%N)
  printf '%-8s target %6s ms   build %5d ms   FM warning lines %s\n' "$1" "$(target_ms "$log")" $(((end - start) / 1000000)) \
    "$(grep -c 'warning FM' "$log" || true)"
}
dotnet restore "$project" -nologo -v q >/dev/null
build first
for i in $(seq 1 "$runs"); do build "no-op-$i"; done
for i in $(seq 1 "$cold"); do rm -f "$project/obj/Release/net10.0/flashmoe.check.cache"; build "check-$i"; done
grep -h 'warning FM' "$work/build-first.log" | sed 's/ \[.*//' | sort -u | cut -c1-160
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
