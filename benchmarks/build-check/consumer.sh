# Sourced by measure.sh and jit-count.sh (from the repository root, with $work set): packs the FlashMoe package into
# $work/feed, writes the sparse 121 GiB synthetic MoE and the consumer project with its 5 profiles in $work/consumer.
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

