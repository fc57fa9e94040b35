using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using FlashMoe.Diagnostics;
using FlashMoe.Planning;
using FlashMoe.Gguf;
using FlashMoe.Json;

namespace FlashMoe.Profiles;

/// <summary>
/// Reads a <c>flashmoe.json</c> profile file into <see cref="FlashMoeProfile"/> objects, the locations of every
/// written property and the profile diagnostics FM0001–FM0013. It checks the file on its own terms (syntax,
/// names, types, ranges, values that contradict each other); whether the model fits the machine is the build
/// check's job (FM1xxx), so nothing is reported twice. Omitted values take the defaults of
/// <see cref="LoadOptions.Default"/>, <see cref="CpuSpec.Unknown"/> and <see cref="KvCacheSpec.Default"/>.
/// </summary>
public static class ProfileParser
{
    /// <summary>Largest accepted size in GiB (1 PiB): keeps byte counts far inside a 64-bit integer.</summary>
    public const double MaxGiB = 1024 * 1024;

    /// <summary>
    /// Largest accepted core or thread count, and the largest layer count a load option may ask for (<c>gpuLayers</c>,
    /// <c>expertsOnCpu</c>: like llama.cpp's <c>-ngl 999</c>, more than the model has means all): far above any real
    /// machine, far below overflow. A model's own layer and expert counts are capped by <see cref="ModelLimits"/>.
    /// </summary>
    public const int MaxCount = 65536;

    /// <summary>Longest accepted tensor-override pattern, in characters.</summary>
    public const int MaxPatternLength = 4096;

    /// <summary>
    /// At most this many diagnostics are reported per file (like a compiler's error limit): a hostile or
    /// machine-generated file with millions of bad members must not flood the build or cost minutes.
    /// </summary>
    public const int MaxDiagnosticsPerFile = 500;

    /// <summary>
    /// Parses one profile file. Never throws: syntax errors become FM0001, an unexpected failure FM0099.
    /// Profiles with an error-severity diagnostic are left out of <see cref="ProfileDocument.Profiles"/>;
    /// warnings do not exclude a profile. Diagnostics are in document order.
    /// </summary>
    /// <param name="path">The file's path; used only to label locations.</param>
    /// <param name="text">The file's text.</param>
    public static ProfileDocument Parse(string path, string text)
    {
        path ??= string.Empty;
        var diagnostics = new List<FlashMoeDiagnostic>();
        var profiles = new List<ParsedProfile>();
        var names = new List<string>();
        try
        {
            var result = PositionedJsonParser.Parse(text ?? string.Empty);
            if (result.Error is { } error)
            {
                diagnostics.Add(FlashMoeDiagnostic.Create(DiagnosticCatalog.InvalidJson, error.Span.ToLocation(path), error.Message));
            }
            else if (result.Root is { } root)
            {
                new DocumentReader(path, diagnostics, profiles, names).ReadRoot(root);
            }
        }
        catch (Exception e)
        {
            // A bug guard: the reader is written not to throw, but a crash inside the compiler or MSBuild
            // would be far worse than a coded error that asks for a report.
            profiles.Clear();
            diagnostics.Add(FlashMoeDiagnostic.Create(
                DiagnosticCatalog.ProfileInternalError, new SourceLocation(path, 1, 1, 1, 1, 0, 0), e.GetType().Name + ": " + e.Message));
        }
        var ordered = diagnostics
            .Select((diagnostic, index) => (diagnostic, index))
            .OrderBy(x => x.diagnostic.Location?.Offset ?? -1)
            .ThenBy(x => x.index)
            .Select(x => x.diagnostic);
        return new ProfileDocument(path, profiles.ToEquatableArray(), ordered.ToEquatableArray()) { ProfileNames = names.ToEquatableArray() };
    }

    /// <summary>The closest name in <paramref name="known"/> to <paramref name="name"/> (case-insensitive edit distance), or null when none is close.</summary>
    public static string? ClosestName(string name, IEnumerable<string> known)
    {
        if (name.Length > 64) return null; // bounds the edit-distance work on hostile input
        var lower = name.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var candidateLower = candidate.ToLowerInvariant();
            // A typed prefix ("vram" for "vramGiB") is a near miss whatever the length difference.
            var distance = lower.Length >= 3 && candidateLower.StartsWith(lower, StringComparison.Ordinal) && lower != candidateLower
                ? 1
                : EditDistance(lower, candidateLower);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        if (best is null) return null;
        var threshold = Math.Max(2, best.Length / 2);
        return bestDistance <= threshold ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The first character below U+0020 (C0 control) in <paramref name="text"/>, or null.</summary>
    private static char? FirstControlCharacter(string text)
    {
        foreach (var c in text)
        {
            if (c < ' ') return c;
        }
        return null;
    }

    /// <summary>Reads one document; holds the state of the profile being read.</summary>
    private sealed class DocumentReader
    {
        private readonly string _path;
        private readonly List<FlashMoeDiagnostic> _diagnostics;
        private readonly List<ParsedProfile> _profiles;
        private readonly List<string> _names;
        private Dictionary<string, JsonTextSpan> _written = new(StringComparer.Ordinal);
        private List<KeyValuePair<string, SourceLocation>> _locations = new();
        private bool _profileHasError;

        public DocumentReader(string path, List<FlashMoeDiagnostic> diagnostics, List<ParsedProfile> profiles, List<string> names)
        {
            _path = path;
            _diagnostics = diagnostics;
            _profiles = profiles;
            _names = names;
        }

        public void ReadRoot(JsonNode root)
        {
            if (root is not JsonObject rootObject)
            {
                Report(DiagnosticCatalog.InvalidValue, root.Span, "(root)", "the file must hold a JSON object with a \"profiles\" member, found " + root.Describe());
                return;
            }
            JsonProperty? profilesMember = null;
            foreach (var member in Members(rootObject, null, "the root object", ProfileSchema.Root))
            {
                switch (member.Name)
                {
                    case "$schema":
                        if (member.Value is not JsonString) ReportType(member.Value, "$schema", "a string (the schema's path or URL)");
                        break;
                    case "profiles":
                        profilesMember = member;
                        break;
                }
            }
            if (profilesMember is null)
            {
                Report(DiagnosticCatalog.MissingValue, FirstChar(rootObject.Span),
                    "The file has no \"profiles\" object; write \"profiles\": { \"MyProfile\": { \"hardware\": { ... }, \"model\": { ... } } }");
                return;
            }
            if (profilesMember.Value is not JsonObject profilesObject)
            {
                ReportType(profilesMember.Value, "profiles", "an object whose members are named profiles");
                return;
            }
            var seen = new Dictionary<string, JsonProperty>(StringComparer.Ordinal);
            foreach (var profile in profilesObject.Properties)
            {
                var duplicateOf = seen.TryGetValue(profile.Name, out var first) ? first : null;
                if (duplicateOf is null)
                {
                    seen.Add(profile.Name, profile);
                    _names.Add(profile.Name);
                }
                ReadProfile(profile, duplicateOf);
            }
        }

        private void ReadProfile(JsonProperty member, JsonProperty? duplicateOf)
        {
            _written = new Dictionary<string, JsonTextSpan>(StringComparer.Ordinal);
            _locations = new List<KeyValuePair<string, SourceLocation>>();
            _profileHasError = false;
            var name = member.Name;
            var shownName = JsonText.Shorten(name);
            if (duplicateOf is not null)
            {
                Report(DiagnosticCatalog.InvalidProfileName, member.NameSpan, shownName,
                    "is declared twice (first at line " + Invariant(duplicateOf.NameSpan.Line) + "); profile names must be unique");
            }
            else if (CSharpNames.WhyNotProfileName(name) is { } reason)
            {
                Report(DiagnosticCatalog.InvalidProfileName, member.NameSpan, shownName, reason);
            }
            if (member.Value is not JsonObject profileObject)
            {
                ReportType(member.Value, shownName, "a profile object with \"hardware\", \"model\" and optional \"load\"");
                return;
            }

            string? description = null;
            HardwareSpec? hardware = null;
            ModelSpec? model = null;
            var load = LoadOptions.Default;
            var objective = Objective.Throughput;
            JsonProperty? hardwareMember = null, modelMember = null;
            foreach (var p in Members(profileObject, string.Empty, "profile '" + shownName + "'", ProfileSchema.Profile))
            {
                switch (p.Name)
                {
                    case "description":
                        description = ReadString(p.Value, "description", allowEmpty: true);
                        break;
                    case "hardware":
                        hardwareMember = p;
                        hardware = ReadHardware(p);
                        break;
                    case "model":
                        modelMember = p;
                        model = ReadModel(p);
                        break;
                    case "load":
                        load = ReadLoad(p) ?? LoadOptions.Default;
                        break;
                    case "objective":
                        objective = ReadEnum(p.Value, "objective", ProfileSchema.ObjectiveNames) ?? Objective.Throughput;
                        break;
                }
            }
            if (hardwareMember is null)
            {
                Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                    $"Profile '{shownName}' has no \"hardware\" object; \"hardware.ramGiB\" (the target machine's RAM in GiB) is required");
            }
            if (modelMember is null)
            {
                Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                    $"Profile '{shownName}' has no \"model\" object; give \"model.path\" (the GGUF, relative to this file) or \"model.sizeGiB\"");
            }
            if (hardware is not null) CheckHardware(hardware);
            if (model is not null) CheckModel(model);
            CheckLoad(load, hardware);

            if (_profileHasError || hardware is null || model is null) return;
            var profile = new FlashMoeProfile(name, hardware, model, load, objective) { Description = description };
            _profiles.Add(new ParsedProfile(profile, new ProfileLocations(member.NameSpan.ToLocation(_path), _locations.ToEquatableArray())));
        }

        // ---- hardware -------------------------------------------------------------------------------

        private HardwareSpec? ReadHardware(JsonProperty member)
        {
            if (member.Value is not JsonObject obj)
            {
                ReportType(member.Value, "hardware", "an object");
                return null;
            }
            double? ram = null, reserve = null, bandwidth = null;
            var cpu = CpuSpec.Unknown;
            var gpus = new List<GpuSpec>();
            var storage = StorageKind.Unknown;
            var ramWritten = false;
            foreach (var p in Members(obj, "hardware", "'hardware'", ProfileSchema.Hardware))
            {
                switch (p.Name)
                {
                    case "ramGiB":
                        ramWritten = true;
                        ram = ReadNumber(p.Value, "hardware.ramGiB", 0, exclusiveMin: true, MaxGiB, "GiB");
                        break;
                    case "reserveGiB":
                        reserve = IsNull(p) ? null : ReadNumber(p.Value, "hardware.reserveGiB", 0, exclusiveMin: false, MaxGiB, "GiB");
                        break;
                    case "memoryBandwidthGBs":
                        bandwidth = IsNull(p) ? null : ReadNumber(p.Value, "hardware.memoryBandwidthGBs", 0, exclusiveMin: true, 1_000_000, "GB/s");
                        break;
                    case "cpu":
                        cpu = ReadCpu(p) ?? CpuSpec.Unknown;
                        break;
                    case "gpus":
                        ReadGpus(p, gpus);
                        break;
                    case "storage":
                        storage = ReadEnum(p.Value, "hardware.storage", ProfileSchema.StorageNames) ?? StorageKind.Unknown;
                        break;
                }
            }
            if (!ramWritten)
            {
                Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                    "\"hardware.ramGiB\" is required: the installed RAM of the target machine in GiB (e.g. \"ramGiB\": 64)");
            }
            return ram is { } ramGiB ? new HardwareSpec(ramGiB, reserve, cpu, gpus.ToEquatableArray(), storage, bandwidth) : null;
        }

        private CpuSpec? ReadCpu(JsonProperty member)
        {
            if (member.Value is not JsonObject obj)
            {
                ReportType(member.Value, "hardware.cpu", "an object");
                return null;
            }
            int? physical = null, logical = null;
            bool? avx2 = null, avx512 = null;
            foreach (var p in Members(obj, "hardware.cpu", "'hardware.cpu'", ProfileSchema.Cpu))
            {
                var path = "hardware.cpu." + p.Name;
                if (IsNull(p)) continue; // every CPU fact is optional: null means "not declared"
                switch (p.Name)
                {
                    case "physicalCores": physical = ReadInt(p.Value, path, 1, MaxCount); break;
                    case "logicalCores": logical = ReadInt(p.Value, path, 1, MaxCount); break;
                    case "avx2": avx2 = ReadBool(p.Value, path); break;
                    case "avx512": avx512 = ReadBool(p.Value, path); break;
                }
            }
            return new CpuSpec(physical, logical, avx2, avx512);
        }

        private void ReadGpus(JsonProperty member, List<GpuSpec> gpus)
        {
            if (member.Value is not JsonArray array)
            {
                ReportType(member.Value, "hardware.gpus", "an array of GPU objects (empty for CPU only)");
                return;
            }
            for (var i = 0; i < array.Items.Count; i++)
            {
                var path = "hardware.gpus[" + Invariant(i) + "]";
                var item = array.Items[i];
                Record(path, item.Span);
                if (item is not JsonObject obj)
                {
                    ReportType(item, path, "a GPU object such as { \"name\": \"Arc A770\", \"vramGiB\": 16, \"backend\": \"vulkan\" }");
                    continue;
                }
                var name = string.Empty;
                double? vram = null, split = null;
                GpuBackend? backend = null;
                bool vramWritten = false, backendWritten = false;
                foreach (var p in Members(obj, path, "'" + path + "'", ProfileSchema.Gpu))
                {
                    var memberPath = path + "." + p.Name;
                    switch (p.Name)
                    {
                        case "name":
                            name = ReadString(p.Value, memberPath, allowEmpty: true) ?? string.Empty;
                            break;
                        case "vramGiB":
                            vramWritten = true;
                            vram = ReadNumber(p.Value, memberPath, 0, exclusiveMin: true, MaxGiB, "GiB");
                            break;
                        case "backend":
                            backendWritten = true;
                            backend = ReadEnum(p.Value, memberPath, ProfileSchema.BackendNames);
                            break;
                        case "splitRatio":
                            split = IsNull(p) ? null : ReadNumber(p.Value, memberPath, 0, exclusiveMin: true, 1_000_000, string.Empty);
                            break;
                    }
                }
                if (!vramWritten) Report(DiagnosticCatalog.MissingValue, FirstChar(obj.Span), $"\"{path}.vramGiB\" is required: the GPU's dedicated memory in GiB");
                if (!backendWritten)
                {
                    Report(DiagnosticCatalog.MissingValue, FirstChar(obj.Span),
                        $"\"{path}.backend\" is required: one of {Quoted(ProfileSchema.BackendNames.Select(n => n.Key))}");
                }
                if (vram is { } v && backend is { } b) gpus.Add(new GpuSpec(name, v, b, split));
            }
        }

        private void CheckHardware(HardwareSpec hardware)
        {
            if (hardware.ReserveGiB is { } reserve && reserve >= hardware.RamGiB)
            {
                Report(DiagnosticCatalog.ContradictoryValues, _written["hardware.reserveGiB"],
                    $"hardware.reserveGiB ({Invariant(reserve)} GiB) must be smaller than hardware.ramGiB ({Invariant(hardware.RamGiB)} GiB): nothing would be left for the model");
            }
            if (hardware.Cpu is { PhysicalCores: { } physical, LogicalCores: { } logical } && physical > logical)
            {
                Report(DiagnosticCatalog.ContradictoryValues, _written["hardware.cpu.physicalCores"],
                    $"hardware.cpu.physicalCores ({Invariant(physical)}) cannot exceed hardware.cpu.logicalCores ({Invariant(logical)}): every physical core is at least one logical core");
            }
            var withRatio = hardware.Gpus.Count(g => g.SplitRatio is not null);
            if (withRatio > 0 && withRatio < hardware.Gpus.Count)
            {
                var index = 0;
                for (; index < hardware.Gpus.Count; index++)
                {
                    if (hardware.Gpus[index].SplitRatio is null) break;
                }
                var at = Find("hardware.gpus[" + Invariant(index) + "]") ?? _written["hardware.gpus"];
                Report(DiagnosticCatalog.ContradictoryValues, FirstChar(at),
                    $"splitRatio is given for {Invariant(withRatio)} of {Invariant(hardware.Gpus.Count)} GPUs; give it for every GPU (llama.cpp's tensor_split needs one share per device) or for none (split by VRAM)");
            }
        }

        // ---- model ----------------------------------------------------------------------------------

        private ModelSpec? ReadModel(JsonProperty member)
        {
            if (member.Value is not JsonObject obj)
            {
                ReportType(member.Value, "model", "an object with \"path\" or \"sizeGiB\"");
                return null;
            }
            string? path = null;
            double? size = null, expertFraction = null;
            int? blockCount = null, expertCount = null, expertUsed = null;
            GgmlType? weightType = null;
            var pathOrSizeRejected = false;
            foreach (var p in Members(obj, "model", "'model'", ProfileSchema.Model))
            {
                var memberPath = "model." + p.Name;
                if (IsNull(p)) continue; // every model fact is optional: null means "not declared"
                switch (p.Name)
                {
                    case "path":
                        path = ReadString(p.Value, memberPath, allowEmpty: false);
                        if (path is not null && FirstControlCharacter(path) is { } control)
                        {
                            // No file system names a file with U+0000, Windows none with U+0001–U+001F, and .NET
                            // Framework's Path methods throw on them: such a path only ever fails later, less clearly.
                            ReportValue(p.Value, memberPath, $"a path cannot contain the control character U+{(int)control:X4}");
                            path = null;
                        }
                        pathOrSizeRejected |= path is null;
                        break;
                    case "sizeGiB":
                        size = ReadNumber(p.Value, memberPath, 0, exclusiveMin: true, MaxGiB, "GiB");
                        pathOrSizeRejected |= size is null;
                        break;
                    // llama.cpp's own maxima (LLAMA_MAX_LAYERS, LLAMA_MAX_EXPERTS): a larger model does not load.
                    case "blockCount": blockCount = ReadInt(p.Value, memberPath, 1, ModelLimits.MaxLayers); break;
                    case "expertCount": expertCount = ReadInt(p.Value, memberPath, 0, ModelLimits.MaxExperts); break;
                    case "expertUsedCount": expertUsed = ReadInt(p.Value, memberPath, 1, ModelLimits.MaxExperts); break;
                    case "expertFraction": expertFraction = ReadNumber(p.Value, memberPath, 0, exclusiveMin: false, 1, string.Empty); break;
                    case "weightType": weightType = ReadEnum(p.Value, memberPath, ProfileSchema.WeightTypeNames); break;
                }
            }
            if (path is null && size is null && !pathOrSizeRejected)
            {
                Report(DiagnosticCatalog.MissingValue, member.NameSpan,
                    "\"model\" needs \"path\" (the GGUF file, relative to this file) or \"sizeGiB\" (its size, used when the file is not there at build time)");
            }
            return new ModelSpec(path, size, blockCount, expertCount, expertUsed, expertFraction, weightType);
        }

        private void CheckModel(ModelSpec model)
        {
            if (model.ExpertUsedCount is { } used && model.ExpertCount is { } experts && used > experts)
            {
                Report(DiagnosticCatalog.ContradictoryValues, _written["model.expertUsedCount"],
                    $"model.expertUsedCount ({Invariant(used)}) cannot exceed model.expertCount ({Invariant(experts)})");
            }
            if (model.ExpertCount == 0 && model.ExpertFraction is > 0)
            {
                Report(DiagnosticCatalog.ContradictoryValues, _written["model.expertFraction"],
                    $"model.expertFraction is {Invariant(model.ExpertFraction.Value)} but model.expertCount is 0 (a dense model has no expert weights)");
            }
        }

        // ---- load -----------------------------------------------------------------------------------

        private LoadOptions? ReadLoad(JsonProperty member)
        {
            if (member.Value is not JsonObject obj)
            {
                ReportType(member.Value, "load", "an object");
                return null;
            }
            var d = LoadOptions.Default;
            var mmap = d.Mmap;
            var mlock = d.Mlock;
            var gpuLayers = d.GpuLayers;
            var expertsOnCpu = d.ExpertsOnCpu;
            var overrides = d.TensorOverrides;
            var threads = d.Threads;
            var batchThreads = d.BatchThreads;
            var contextSize = d.ContextSize;
            var batchSize = d.BatchSize;
            var ubatchSize = d.UBatchSize;
            var flashAttention = d.FlashAttention;
            var kvCache = d.KvCache;
            var repack = d.Repack;
            var kvOffload = d.KvOffload;
            foreach (var p in Members(obj, "load", "'load'", ProfileSchema.Load))
            {
                var path = "load." + p.Name;
                switch (p.Name)
                {
                    case "mmap": mmap = ReadAutoSwitch(p.Value, path) ?? mmap; break;
                    case "mlock": mlock = ReadBool(p.Value, path) ?? mlock; break;
                    case "gpuLayers": gpuLayers = ReadGpuLayers(p.Value, path) ?? gpuLayers; break;
                    case "expertsOnCpu": expertsOnCpu = ReadExpertsOnCpu(p.Value, path) ?? expertsOnCpu; break;
                    case "tensorOverrides": overrides = ReadTensorOverrides(p.Value, path); break;
                    case "threads": threads = ReadThreadCount(p.Value, path) ?? threads; break;
                    case "batchThreads": batchThreads = ReadThreadCount(p.Value, path) ?? batchThreads; break;
                    case "contextSize": contextSize = ReadInt(p.Value, path, 1, int.MaxValue) ?? contextSize; break;
                    case "batchSize": batchSize = ReadInt(p.Value, path, 1, int.MaxValue) ?? batchSize; break;
                    case "ubatchSize": ubatchSize = ReadInt(p.Value, path, 1, int.MaxValue) ?? ubatchSize; break;
                    case "flashAttention": flashAttention = ReadAutoSwitch(p.Value, path) ?? flashAttention; break;
                    case "kvCache": kvCache = ReadKvCache(p.Value, path); break;
                    case "repack": repack = ReadBool(p.Value, path) ?? repack; break;
                    case "kvOffload": kvOffload = ReadBool(p.Value, path) ?? kvOffload; break;
                }
            }
            return new LoadOptions(mmap, mlock, gpuLayers, expertsOnCpu, overrides, threads, batchThreads,
                contextSize, batchSize, ubatchSize, flashAttention, kvCache, repack, kvOffload);
        }

        private AutoSwitch? ReadAutoSwitch(JsonNode value, string path)
        {
            switch (value)
            {
                case JsonBoolean b: return b.Value ? AutoSwitch.On : AutoSwitch.Off;
                case JsonString { Value: "auto" }: return AutoSwitch.Auto;
                default:
                    ReportType(value, path, "true, false or \"auto\"");
                    return null;
            }
        }

        private GpuLayers? ReadGpuLayers(JsonNode value, string path)
        {
            switch (value)
            {
                case JsonString { Value: "auto" }: return GpuLayers.Auto;
                case JsonString { Value: "all" }: return GpuLayers.All;
                case JsonNumber:
                    return ReadInt(value, path, 0, MaxCount) is { } count ? GpuLayers.Of(count) : null;
                default:
                    ReportType(value, path, "a layer count (integer ≥ 0), \"all\" or \"auto\"");
                    return null;
            }
        }

        private ExpertsOnCpu? ReadExpertsOnCpu(JsonNode value, string path)
        {
            switch (value)
            {
                case JsonBoolean b: return b.Value ? ExpertsOnCpu.All : ExpertsOnCpu.None;
                case JsonNumber:
                    // 0 layers is the same as false; normalising keeps one spelling per meaning.
                    return ReadInt(value, path, 0, MaxCount) is { } count ? (count == 0 ? ExpertsOnCpu.None : ExpertsOnCpu.FirstLayers(count)) : null;
                default:
                    ReportType(value, path, "true, false or a layer count (integer ≥ 0: the first N layers' experts stay on the CPU)");
                    return null;
            }
        }

        private ThreadCount? ReadThreadCount(JsonNode value, string path)
        {
            switch (value)
            {
                case JsonString { Value: "physical" }: return ThreadCount.Physical;
                case JsonString { Value: "logical" }: return ThreadCount.Logical;
                case JsonNumber:
                    return ReadInt(value, path, 1, MaxCount) is { } count ? ThreadCount.Fixed(count) : null;
                default:
                    ReportType(value, path, "a thread count (integer ≥ 1), \"physical\" or \"logical\"");
                    return null;
            }
        }

        private KvCacheSpec ReadKvCache(JsonNode value, string path)
        {
            if (value is not JsonObject obj)
            {
                ReportType(value, path, "an object such as { \"k\": \"f16\", \"v\": \"f16\" }");
                return KvCacheSpec.Default;
            }
            var k = KvCacheSpec.Default.K;
            var v = KvCacheSpec.Default.V;
            foreach (var p in Members(obj, path, "'" + path + "'", ProfileSchema.KvCache))
            {
                var memberPath = path + "." + p.Name;
                var type = ReadEnum(p.Value, memberPath, ProfileSchema.KvCacheTypeNames);
                if (type is null) continue;
                if (p.Name == "k") k = type.Value;
                else v = type.Value;
            }
            return new KvCacheSpec(k, v);
        }

        private EquatableArray<TensorOverride> ReadTensorOverrides(JsonNode value, string path)
        {
            if (value is not JsonArray array)
            {
                ReportType(value, path, "an array of { \"pattern\": \"regex\", \"device\": \"CPU\" } objects");
                return EquatableArray<TensorOverride>.Empty;
            }
            var overrides = new List<TensorOverride>();
            for (var i = 0; i < array.Items.Count; i++)
            {
                var itemPath = path + "[" + Invariant(i) + "]";
                var item = array.Items[i];
                Record(itemPath, item.Span);
                if (item is not JsonObject obj)
                {
                    ReportType(item, itemPath, "an object such as { \"pattern\": \"\\\\.ffn_.*_exps\\\\.\", \"device\": \"CPU\" }");
                    continue;
                }
                string? pattern = null, device = null;
                foreach (var p in Members(obj, itemPath, "'" + itemPath + "'", ProfileSchema.TensorOverride))
                {
                    var memberPath = itemPath + "." + p.Name;
                    if (p.Name == "pattern")
                    {
                        pattern = ReadString(p.Value, memberPath, allowEmpty: false);
                        if (pattern is not null && !CheckPattern(p.Value, memberPath, pattern)) pattern = null;
                    }
                    else
                    {
                        device = ReadString(p.Value, memberPath, allowEmpty: false);
                        if (LlamaPlacement.IsDroppedByLlamaSharp(device))
                        {
                            Report(DiagnosticCatalog.IgnoredOverrideDevice, p.Value.Span, memberPath, JsonText.Shorten(device));
                        }
                    }
                }
                if (!_written.ContainsKey(itemPath + ".pattern"))
                {
                    Report(DiagnosticCatalog.MissingValue, FirstChar(obj.Span), $"\"{itemPath}.pattern\" is required: a regular expression searched in tensor names");
                }
                if (!_written.ContainsKey(itemPath + ".device"))
                {
                    Report(DiagnosticCatalog.MissingValue, FirstChar(obj.Span), $"\"{itemPath}.device\" is required: a buffer type such as \"CPU\" or \"Vulkan0\"");
                }
                if (pattern is not null && device is not null) overrides.Add(new TensorOverride(pattern, device));
            }
            return overrides.ToEquatableArray();
        }

        /// <summary>
        /// llama.cpp compiles the pattern with <c>std::regex</c> (ECMAScript grammar). .NET's ECMAScript mode
        /// catches syntax errors; the scan below also rejects .NET-only constructs std::regex does not know,
        /// which .NET would accept.
        /// </summary>
        private bool CheckPattern(JsonNode value, string path, string pattern)
        {
            if (pattern.Length > MaxPatternLength)
            {
                ReportValue(value, path, "the pattern is longer than " + Invariant(MaxPatternLength) + " characters");
                return false;
            }
            var unsupported = FindUnsupportedRegexConstruct(pattern);
            if (unsupported is not null)
            {
                Report(DiagnosticCatalog.InvalidTensorPattern, value.Span, path, JsonText.Shorten(pattern), unsupported);
                return false;
            }
            try
            {
                _ = new Regex(pattern, RegexOptions.ECMAScript, TimeSpan.FromSeconds(1));
                return true;
            }
            catch (ArgumentException e)
            {
                Report(DiagnosticCatalog.InvalidTensorPattern, value.Span, path, JsonText.Shorten(pattern), e.Message.TrimEnd('.'));
                return false;
            }
        }

        private static string? FindUnsupportedRegexConstruct(string pattern)
        {
            var inClass = false;
            for (var i = 0; i < pattern.Length; i++)
            {
                var c = pattern[i];
                if (c == '\\' && i + 1 < pattern.Length)
                {
                    var next = pattern[i + 1];
                    if (next is 'p' or 'P' or 'A' or 'Z' or 'z' or 'G')
                    {
                        return $"'\\{next}' is a .NET/PCRE escape that llama.cpp's std::regex (ECMAScript) does not support";
                    }
                    i++;
                    continue;
                }
                if (inClass)
                {
                    if (c == ']') inClass = false;
                    continue;
                }
                if (c == '[')
                {
                    inClass = true;
                    if (i + 1 < pattern.Length && pattern[i + 1] == ']') i++; // "[]...]": a leading ']' is literal
                    continue;
                }
                if (c == '(' && i + 2 < pattern.Length && pattern[i + 1] == '?' && pattern[i + 2] is not (':' or '=' or '!'))
                {
                    return $"'(?{pattern[i + 2]}' is not supported by llama.cpp's std::regex (ECMAScript knows only (?: (?= and (?!)";
                }
            }
            return null;
        }

        private void CheckLoad(LoadOptions load, HardwareSpec? hardware)
        {
            // FM0006. Only a value the user wrote is reported: a default that meets a small written value is
            // clamped by llama.cpp the way the user expects (n_batch = min(n_batch, n_ctx), n_ubatch = min(n_ubatch, n_batch)).
            if (load.UBatchSize > load.BatchSize && Find("load.ubatchSize") is { } ubatchSpan)
            {
                Report(DiagnosticCatalog.InconsistentBatch, ubatchSpan,
                    $"ubatchSize {Invariant(load.UBatchSize)} is larger than batchSize {Invariant(load.BatchSize)}: the physical batch cannot exceed the logical batch (llama.cpp would silently use n_ubatch = n_batch). Lower ubatchSize or raise batchSize");
            }
            if (load.BatchSize > load.ContextSize && Find("load.batchSize") is { } batchSpan)
            {
                Report(DiagnosticCatalog.InconsistentBatch, batchSpan,
                    $"batchSize {Invariant(load.BatchSize)} is larger than contextSize {Invariant(load.ContextSize)}: llama.cpp caps n_batch at n_ctx for causal models, so the larger batch is never used. Set batchSize to at most contextSize");
            }

            // FM0007
            if (ProfileSchema.IsQuantized(load.KvCache.V) && load.FlashAttention == AutoSwitch.Off)
            {
                var at = Find("load.kvCache.v") ?? Find("load.flashAttention");
                if (at is { } span)
                {
                    Report(DiagnosticCatalog.QuantizedVCacheWithoutFlashAttention, span,
                        ProfileSchema.KvCacheTypeNames.First(n => n.Value == load.KvCache.V).Key);
                }
            }

            // FM0008 (needs declared cores)
            var cpu = hardware?.Cpu;
            if (cpu is null) return;
            if (Find("load.threads") is { } threadsSpan)
            {
                if (load.Threads.Kind == ThreadCountKind.Fixed)
                {
                    var n = load.Threads.Count;
                    if (cpu.LogicalCores is { } logical && n > logical)
                    {
                        Report(DiagnosticCatalog.ThreadsExceedCores, threadsSpan,
                            $"threads is {Invariant(n)} but the target declares {Invariant(logical)} logical cores: the extra threads only compete for cores. Use \"physical\" or at most {Invariant(cpu.PhysicalCores ?? logical)}");
                    }
                    else if (cpu.PhysicalCores is { } physical && n > physical)
                    {
                        Report(DiagnosticCatalog.ThreadsExceedCores, threadsSpan,
                            $"threads is {Invariant(n)}, more than the {Invariant(physical)} physical cores: llama.cpp generation runs best with one thread per physical core (SMT siblings share the core's vector units). Use \"physical\"");
                    }
                }
                else if (load.Threads.Kind == ThreadCountKind.Logical && cpu is { PhysicalCores: { } physical, LogicalCores: { } logical } && logical > physical)
                {
                    Report(DiagnosticCatalog.ThreadsExceedCores, threadsSpan,
                        $"threads is \"logical\" ({Invariant(logical)} threads on {Invariant(physical)} physical cores): llama.cpp generation runs best with one thread per physical core. Use \"physical\"");
                }
            }
            if (load.BatchThreads.Kind == ThreadCountKind.Fixed && cpu.LogicalCores is { } logicalCores
                && load.BatchThreads.Count > logicalCores && Find("load.batchThreads") is { } batchThreadsSpan)
            {
                Report(DiagnosticCatalog.ThreadsExceedCores, batchThreadsSpan,
                    $"batchThreads is {Invariant(load.BatchThreads.Count)} but the target declares {Invariant(logicalCores)} logical cores: the extra threads only compete for cores. Use \"logical\", \"physical\" or at most {Invariant(logicalCores)}");
            }
        }

        // ---- primitives -----------------------------------------------------------------------------

        /// <summary>
        /// The known, first-seen members of <paramref name="obj"/>: unknown names get FM0002, repeated names FM0009.
        /// Records the location of each accepted member under <paramref name="pathPrefix"/> (null: not inside a profile).
        /// </summary>
        private List<JsonProperty> Members(JsonObject obj, string? pathPrefix, string where, IReadOnlyList<string> known)
        {
            var accepted = new List<JsonProperty>();
            var seen = new Dictionary<string, JsonProperty>(StringComparer.Ordinal);
            foreach (var p in obj.Properties)
            {
                if (!known.Contains(p.Name))
                {
                    if (_diagnostics.Count >= MaxDiagnosticsPerFile) continue; // warnings only: nothing else to record
                    var closest = ClosestName(p.Name, known);
                    var hint = closest is not null
                        ? $". Did you mean '{closest}'?"
                        : ". Known properties: " + string.Join(", ", known);
                    Report(DiagnosticCatalog.UnknownProperty, p.NameSpan, JsonText.Shorten(p.Name), where, hint);
                    continue;
                }
                if (seen.TryGetValue(p.Name, out var first))
                {
                    Report(DiagnosticCatalog.DuplicateProperty, p.NameSpan, p.Name, where, Invariant(first.NameSpan.Line));
                    continue;
                }
                seen.Add(p.Name, p);
                if (pathPrefix is not null) Record(pathPrefix.Length == 0 ? p.Name : pathPrefix + "." + p.Name, p.Value.Span);
                accepted.Add(p);
            }
            return accepted;
        }

        private void Record(string path, JsonTextSpan span)
        {
            if (_written.ContainsKey(path)) return;
            _written.Add(path, span);
            _locations.Add(new KeyValuePair<string, SourceLocation>(path, span.ToLocation(_path)));
        }

        private JsonTextSpan? Find(string path) => _written.TryGetValue(path, out var span) ? span : null;

        private static bool IsNull(JsonProperty p) => p.Value is JsonNull;

        private bool? ReadBool(JsonNode value, string path)
        {
            if (value is JsonBoolean b) return b.Value;
            ReportType(value, path, "true or false");
            return null;
        }

        private string? ReadString(JsonNode value, string path, bool allowEmpty)
        {
            if (value is not JsonString s)
            {
                ReportType(value, path, allowEmpty ? "a string" : "a non-empty string");
                return null;
            }
            if (!allowEmpty && s.Value.Trim().Length == 0)
            {
                ReportValue(value, path, "must not be empty");
                return null;
            }
            return s.Value;
        }

        private double? ReadNumber(JsonNode value, string path, double min, bool exclusiveMin, double max, string unit)
        {
            if (value is not JsonNumber number)
            {
                ReportType(value, path, "a number" + (unit.Length > 0 ? " (" + unit + ")" : string.Empty));
                return null;
            }
            var x = number.Value;
            var tooSmall = exclusiveMin ? x <= min : x < min;
            if (!number.IsFinite || tooSmall || x > max)
            {
                var lower = exclusiveMin ? "greater than " + Invariant(min) : "at least " + Invariant(min);
                ReportValue(value, path, $"must be {lower} and at most {Invariant(max)}{(unit.Length > 0 ? " " + unit : string.Empty)}, found {JsonText.Shorten(number.RawText)}");
                return null;
            }
            return x;
        }

        private int? ReadInt(JsonNode value, string path, int min, int max)
        {
            if (value is not JsonNumber number)
            {
                ReportType(value, path, "an integer");
                return null;
            }
            if (!number.TryGetInt32(out var x))
            {
                var what = number.IsFinite && Math.Floor(number.Value) != number.Value ? "must be a whole number" : "is out of range";
                ReportValue(value, path, $"{what} ({Invariant(min)} to {Invariant(max)}), found {JsonText.Shorten(number.RawText)}");
                return null;
            }
            if (x < min || x > max)
            {
                ReportValue(value, path, $"must be between {Invariant(min)} and {Invariant(max)}, found {Invariant(x)}");
                return null;
            }
            return x;
        }

        private T? ReadEnum<T>(JsonNode value, string path, IReadOnlyList<KeyValuePair<string, T>> names) where T : struct
        {
            var allowed = Quoted(names.Select(n => n.Key));
            if (value is not JsonString s)
            {
                ReportType(value, path, "one of " + allowed);
                return null;
            }
            foreach (var pair in names)
            {
                if (pair.Key == s.Value) return pair.Value;
            }
            var caseMatch = names.FirstOrDefault(n => string.Equals(n.Key, s.Value, StringComparison.OrdinalIgnoreCase)).Key;
            var hint = caseMatch is not null ? $" (values are lower case: \"{caseMatch}\")" : string.Empty;
            ReportValue(value, path, $"unknown value \"{JsonText.Shorten(s.Value)}\"{hint}; expected one of {allowed}");
            return null;
        }

        private static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(n => "\"" + n + "\""));

        private void ReportType(JsonNode value, string path, string expected) =>
            Report(DiagnosticCatalog.InvalidValue, value.Span, path, "expected " + expected + ", found " + value.Describe());

        private void ReportValue(JsonNode value, string path, string problem) =>
            Report(DiagnosticCatalog.InvalidValue, value.Span, path, problem);

        private void Report(FlashMoeDiagnosticDescriptor descriptor, JsonTextSpan span, params object?[] args)
        {
            if (descriptor.Severity == FlashMoeSeverity.Error) _profileHasError = true; // even past the cap: the profile stays excluded
            if (_diagnostics.Count >= MaxDiagnosticsPerFile) return;
            _diagnostics.Add(FlashMoeDiagnostic.Create(descriptor, span.ToLocation(_path), args));
        }

        /// <summary>The first character of a span (an object's opening brace): a compact place for "missing member" errors.</summary>
        private static JsonTextSpan FirstChar(JsonTextSpan span) =>
            new(span.Offset, Math.Min(1, span.Length), span.Line, span.Column, span.Line, span.Column + Math.Min(1, span.Length));
    }
}
