using System.Collections.Generic;
using System.Linq;
using FlashMoe.Diagnostics;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>Reads a profile's <c>hardware</c> object: RAM, reserve, bandwidth, CPU, GPUs and storage.</summary>
internal static class HardwareSectionReader
{
    /// <summary>The hardware, or null when <c>ramGiB</c> is missing or invalid (the errors are reported).</summary>
    public static HardwareSpec? Read(ProfileValueReader reader, JsonProperty member)
    {
        if (member.Value is not JsonObject obj)
        {
            reader.ReportType(member.Value, "hardware", "an object");
            return null;
        }
        double? ram = null, reserve = null, bandwidth = null;
        var cpu = CpuSpec.Unknown;
        var gpus = new List<GpuSpec>();
        var storage = StorageKind.Unknown;
        var ramWritten = false;
        foreach (var p in reader.Members(obj, "hardware", "'hardware'", ProfileSchema.Hardware))
        {
            switch (p.Name)
            {
                case "ramGiB":
                    ramWritten = true;
                    ram = reader.ReadNumber(p.Value, "hardware.ramGiB", 0, exclusiveMin: true, ProfileParser.MaxGiB, "GiB");
                    break;
                case "reserveGiB":
                    reserve = ProfileValueReader.IsNull(p) ? null : reader.ReadNumber(p.Value, "hardware.reserveGiB", 0, exclusiveMin: false, ProfileParser.MaxGiB, "GiB");
                    break;
                case "memoryBandwidthGBs":
                    bandwidth = ProfileValueReader.IsNull(p) ? null : reader.ReadNumber(p.Value, "hardware.memoryBandwidthGBs", 0, exclusiveMin: true, 1_000_000, "GB/s");
                    break;
                case "cpu":
                    cpu = ReadCpu(reader, p) ?? CpuSpec.Unknown;
                    break;
                case "gpus":
                    ReadGpus(reader, p, gpus);
                    break;
                case "storage":
                    storage = reader.ReadEnum(p.Value, "hardware.storage", ProfileSchema.StorageNames) ?? StorageKind.Unknown;
                    break;
            }
        }
        if (!ramWritten)
        {
            reader.Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                "\"hardware.ramGiB\" is required: the installed RAM of the target machine in GiB (e.g. \"ramGiB\": 64)");
        }
        return ram is { } ramGiB ? new HardwareSpec(ramGiB, reserve, cpu, gpus.ToEquatableArray(), storage, bandwidth) : null;
    }

    private static CpuSpec? ReadCpu(ProfileValueReader reader, JsonProperty member)
    {
        if (member.Value is not JsonObject obj)
        {
            reader.ReportType(member.Value, "hardware.cpu", "an object");
            return null;
        }
        int? physical = null, logical = null;
        bool? avx2 = null, avx512 = null;
        foreach (var p in reader.Members(obj, "hardware.cpu", "'hardware.cpu'", ProfileSchema.Cpu))
        {
            var path = "hardware.cpu." + p.Name;
            if (ProfileValueReader.IsNull(p)) continue; // every CPU fact is optional: null means "not declared"
            switch (p.Name)
            {
                case "physicalCores": physical = reader.ReadInt(p.Value, path, 1, ProfileParser.MaxCount); break;
                case "logicalCores": logical = reader.ReadInt(p.Value, path, 1, ProfileParser.MaxCount); break;
                case "avx2": avx2 = reader.ReadBool(p.Value, path); break;
                case "avx512": avx512 = reader.ReadBool(p.Value, path); break;
            }
        }
        return new CpuSpec(physical, logical, avx2, avx512);
    }

    private static void ReadGpus(ProfileValueReader reader, JsonProperty member, List<GpuSpec> gpus)
    {
        if (member.Value is not JsonArray array)
        {
            reader.ReportType(member.Value, "hardware.gpus", "an array of GPU objects (empty for CPU only)");
            return;
        }
        for (var i = 0; i < array.Items.Count; i++)
        {
            var path = "hardware.gpus[" + Invariant.Number(i) + "]";
            var item = array.Items[i];
            reader.Record(path, item.Span);
            if (item is not JsonObject obj)
            {
                reader.ReportType(item, path, "a GPU object such as { \"name\": \"Arc A770\", \"vramGiB\": 16, \"backend\": \"vulkan\" }");
                continue;
            }
            var name = string.Empty;
            double? vram = null, split = null;
            GpuBackend? backend = null;
            bool vramWritten = false, backendWritten = false;
            foreach (var p in reader.Members(obj, path, "'" + path + "'", ProfileSchema.Gpu))
            {
                var memberPath = path + "." + p.Name;
                switch (p.Name)
                {
                    case "name":
                        name = reader.ReadString(p.Value, memberPath, allowEmpty: true) ?? string.Empty;
                        break;
                    case "vramGiB":
                        vramWritten = true;
                        vram = reader.ReadNumber(p.Value, memberPath, 0, exclusiveMin: true, ProfileParser.MaxGiB, "GiB");
                        break;
                    case "backend":
                        backendWritten = true;
                        backend = reader.ReadEnum(p.Value, memberPath, ProfileSchema.BackendNames);
                        break;
                    case "splitRatio":
                        split = ProfileValueReader.IsNull(p) ? null : reader.ReadNumber(p.Value, memberPath, 0, exclusiveMin: true, 1_000_000, string.Empty);
                        break;
                }
            }
            if (!vramWritten) reader.Report(DiagnosticCatalog.MissingValue, ProfileValueReader.FirstChar(obj.Span), $"\"{path}.vramGiB\" is required: the GPU's dedicated memory in GiB");
            if (!backendWritten)
            {
                reader.Report(DiagnosticCatalog.MissingValue, ProfileValueReader.FirstChar(obj.Span),
                    $"\"{path}.backend\" is required: one of {ProfileValueReader.Quoted(ProfileSchema.BackendNames.Select(n => n.Key))}");
            }
            if (vram is { } v && backend is { } b) gpus.Add(new GpuSpec(name, v, b, split));
        }
    }
}
