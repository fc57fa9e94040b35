using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using FlashMoe.Gguf;
using FlashMoe.Profiles;

namespace FlashMoe.Planning;

/// <summary>A tensor override after parsing: a compiled regex and the device it sends tensors to.</summary>
/// <param name="Pattern">The regex as written.</param>
/// <param name="DeviceName">The buffer type name as written.</param>
/// <param name="Regex">The compiled regex (ECMAScript semantics, as <c>std::regex</c>).</param>
/// <param name="Device">Target device.</param>
/// <param name="Index">Position in the resolved override list.</param>
public sealed record CompiledOverride(string Pattern, string DeviceName, Regex Regex, DeviceRef Device, int Index);

/// <summary>
/// llama.cpp's placement rules in the build LLamaSharp 0.30 binds (llama.cpp <c>c0c7e147</c>, named in LLamaSharp
/// 0.30.0's release notes). That build offloads the output layer first (llama.cpp PR 18148; its libllama.so prints
/// <c>n_layer_all</c>): <c>i_gpu_start = std::max(n_layer_all + 1 - n_gpu_layers, 0)</c>, <c>act_gpu_layers =
/// devices.empty() ? 0 : std::min(n_gpu_layers, n_layer_all + 1)</c>, <c>dev_output =
/// get_layer_buft_list(n_layer_all)</c> in <c>load_tensors</c> of <c>src/llama-model.cpp</c>. So n_gpu_layers = 1
/// offloads the output layer and no repeating layer (docs/evidence.md#layer-placement).
/// </summary>
public static class LlamaPlacement
{
    /// <summary>
    /// <c>LLM_FFN_EXPS_REGEX</c> of llama.cpp <c>common/common.h</c>: the routed-expert tensors
    /// (<c>--cpu-moe</c> overrides it to CPU; it contains the older <c>\.ffn_(up|down|gate)_exps</c> quoted in
    /// docs/evidence.md#layer-placement).
    /// </summary>
    public const string ExpertsRegex = @"\.ffn_(up|down|gate|gate_up)_(ch|)exps";

    /// <summary>The CPU repack buffer type's name (<c>ggml/src/ggml-cpu/repack.cpp</c>).</summary>
    public const string CpuRepackBufferType = "CPU_REPACK";

    /// <summary>
    /// True when LLamaSharp 0.30 silently drops a tensor override naming <paramref name="device"/>: <c>CPU_REPACK</c>
    /// in any case (docs/evidence.md#llamasharp-030-behaviour; LLamaSharp accepts only a device's default buffer type). The one test every layer uses: the
    /// profile check (FM0012), the plan (the override is ignored) and the runtime (listed as not applied).
    /// </summary>
    public static bool IsDroppedByLlamaSharp([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? device) =>
        string.Equals(device, CpuRepackBufferType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Bound on regex matching per tensor name; a pathological pattern must not hang the build.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Assigns the repeating layers and the output layer to devices exactly as <c>llama_model::load_tensors</c>
    /// (<c>src/llama-model.cpp</c>) does:
    /// <code>
    /// i_gpu_start    = max(n_layer + 1 - n_gpu_layers, 0)
    /// act_gpu_layers = devices.empty() ? 0 : min(n_gpu_layers, n_layer + 1)
    /// layer il on CPU if il &lt; i_gpu_start || il - i_gpu_start &gt;= act_gpu_layers, else on
    ///   devices[upper_bound(splits, float(il - i_gpu_start) / act_gpu_layers)]
    /// dev_output = get_layer_buft_list(n_layer)   // so the output layer goes to a GPU first, for any n_gpu_layers ≥ 1
    /// </code>
    /// <c>splits</c> are the cumulative shares normalised to 1 (from <c>tensor_split</c> when given, else each
    /// device's free memory), in single precision as llama.cpp computes them.
    /// </summary>
    /// <param name="layerCount">n_layer (block count).</param>
    /// <param name="gpuLayers">n_gpu_layers.</param>
    /// <param name="gpuShares">One share per GPU (VRAM or explicit ratios); empty = no GPU.</param>
    /// <param name="outputDevice">Where the output layer goes.</param>
    /// <returns>The device of each repeating layer.</returns>
    public static DeviceRef[] AssignLayers(int layerCount, int gpuLayers, IReadOnlyList<double> gpuShares, out DeviceRef outputDevice)
    {
        layerCount = Math.Max(0, layerCount);
        var splits = CumulativeSplits(gpuShares);
        var iGpuStart = Math.Max(layerCount + 1 - gpuLayers, 0);
        var actGpuLayers = splits.Length == 0 ? 0 : Math.Min(Math.Max(gpuLayers, 0), layerCount + 1);

        DeviceRef DeviceOf(int il)
        {
            if (il < iGpuStart || il - iGpuStart >= actGpuLayers) return DeviceRef.Cpu;
            var position = (float)(il - iGpuStart) / actGpuLayers;
            var gpu = UpperBound(splits, position);
            return DeviceRef.Gpu(Math.Min(gpu, splits.Length - 1));
        }

        var layers = new DeviceRef[layerCount];
        for (var il = 0; il < layerCount; il++) layers[il] = DeviceOf(il);
        outputDevice = DeviceOf(layerCount);
        return layers;
    }

    /// <summary>The shares llama.cpp splits layers by: explicit ratios when any is given, else the GPUs' memory.</summary>
    public static double[] GpuShares(IReadOnlyList<GpuSpec> gpus, IReadOnlyList<float> explicitSplits)
    {
        var shares = new double[gpus.Count];
        var useExplicit = explicitSplits.Count > 0;
        for (var i = 0; i < gpus.Count; i++)
        {
            // llama.cpp uses each device's free memory; at build time the declared VRAM stands in for it.
            shares[i] = useExplicit ? (i < explicitSplits.Count ? explicitSplits[i] : 0) : Math.Max(0, gpus[i].VramGiB);
        }
        return shares;
    }

    /// <summary>
    /// The overrides <c>expertsOnCpu</c> adds, as <c>common/arg.cpp</c> builds them: <c>--cpu-moe</c> pushes
    /// <see cref="ExpertsRegex"/>; <c>--n-cpu-moe N</c> pushes <c>blk\.{i}</c> + <see cref="ExpertsRegex"/> for i &lt; N
    /// (<c>llm_ffn_exps_block_regex</c>); both to the CPU buffer type.
    /// </summary>
    public static IReadOnlyList<TensorOverride> ExpertsOnCpuOverrides(ExpertsOnCpu expertsOnCpu)
    {
        var list = new List<TensorOverride>();
        switch (expertsOnCpu.Kind)
        {
            case ExpertsOnCpuKind.All:
                list.Add(new TensorOverride(ExpertsRegex, "CPU"));
                break;
            case ExpertsOnCpuKind.FirstLayers:
                for (var i = 0; i < Math.Min(expertsOnCpu.LayerCount, ModelLimits.MaxLayers); i++)
                {
                    list.Add(new TensorOverride(@"blk\." + i.ToString(CultureInfo.InvariantCulture) + ExpertsRegex, "CPU"));
                }
                break;
        }
        return list;
    }

    /// <summary>
    /// Parses the override list. Devices: <c>CPU</c> and <c>*_Host</c> (pinned host memory) → CPU;
    /// <c>Name&lt;n&gt;</c> (Vulkan0, CUDA1, …) → GPU n. <c>CPU_REPACK</c> is dropped, as LLamaSharp drops it (docs/evidence.md#llamasharp-030-behaviour).
    /// </summary>
    public static IReadOnlyList<CompiledOverride> Compile(IReadOnlyList<TensorOverride> overrides, int gpuCount, List<IgnoredOverride> ignored)
    {
        var compiled = new List<CompiledOverride>();
        for (var i = 0; i < overrides.Count; i++)
        {
            var o = overrides[i];
            var device = ParseDevice(o.Device, gpuCount, out var deviceProblem);
            if (device is null)
            {
                ignored.Add(new IgnoredOverride(o.Pattern, o.Device, deviceProblem!, i));
                continue;
            }
            Regex regex;
            try
            {
                regex = new Regex(o.Pattern, RegexOptions.ECMAScript | RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (ArgumentException e)
            {
                ignored.Add(new IgnoredOverride(o.Pattern, o.Device, "the pattern is not a valid regex (" + e.Message + ")", i));
                continue;
            }
            compiled.Add(new CompiledOverride(o.Pattern, o.Device, regex, device.Value, i));
        }
        return compiled;
    }

    /// <summary>
    /// The first override whose regex is found in <paramref name="tensorName"/> (<c>std::regex_search</c>, first match
    /// wins: <c>llama_model::load_tensors</c>, <c>create_tensor</c>), or null. An override whose match exceeds
    /// <see cref="RegexTimeout"/> is removed from <paramref name="active"/> and recorded in <paramref name="ignored"/>
    /// (FM1010), so a catastrophic pattern costs one timeout, not one per tensor.
    /// </summary>
    /// <param name="active">The overrides still in play; timed-out ones are removed from it.</param>
    /// <param name="tensorName">The tensor's name.</param>
    /// <param name="ignored">Receives an entry for each override dropped by a timeout.</param>
    public static CompiledOverride? Match(List<CompiledOverride> active, string tensorName, List<IgnoredOverride> ignored)
    {
        if (active is null) throw new ArgumentNullException(nameof(active));
        if (ignored is null) throw new ArgumentNullException(nameof(ignored));
        for (var i = 0; i < active.Count; i++)
        {
            var o = active[i];
            try
            {
                if (o.Regex.IsMatch(tensorName)) return o;
            }
            catch (RegexMatchTimeoutException)
            {
                ignored.Add(new IgnoredOverride(o.Pattern, o.DeviceName, string.Format(CultureInfo.InvariantCulture,
                    "matching the pattern against '{0}' took longer than {1:0} ms (catastrophic backtracking?), so the plan cannot tell which tensors it moves; simplify the pattern",
                    tensorName, RegexTimeout.TotalMilliseconds), o.Index));
                active.RemoveAt(i);
                i--;
            }
        }
        return null;
    }

    /// <summary>
    /// ggml types the CPU backend of this build repacks on x86 with AVX2/AVX-512 (<c>ggml/src/ggml-cpu/repack.cpp</c>,
    /// <c>ggml_repack_get_optimal_repack_type</c>; x86 kernels present in LLamaSharp.Backend.Cpu 0.30: q4_0_8x8,
    /// q4_K_8x8, q2_K_8x8 (AVX-512 only), iq4_nl_8x8, mxfp4_8x8). Q8_0 and F16 are not repacked (docs/evidence.md#llamasharp-030-behaviour).
    /// </summary>
    public static readonly IReadOnlyCollection<GgmlType> RepackableTypes = new System.Collections.ObjectModel.ReadOnlyCollection<GgmlType>(RepackableTypeList());

    // An array searched by a loop, not a HashSet<GgmlType>: a set over a Core enum is not precompiled (ReadyToRun) and
    // would be JIT-compiled on every build's first check, for five entries.
    private static readonly GgmlType[] RepackableTypeArray = RepackableTypeList();

    private static GgmlType[] RepackableTypeList() => new[] { GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q2_K, GgmlType.IQ4_NL, GgmlType.MXFP4 };

    private static bool IsRepackableType(GgmlType type)
    {
        foreach (var repackable in RepackableTypeArray)
        {
            if (repackable == type) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether the host's CPU has the kernel that repacks <paramref name="type"/>: Q2_K's 8×8 layout needs AVX-512, the
    /// other repackable types AVX2 (checked before) (docs/evidence.md#llamasharp-030-behaviour). An undeclared feature
    /// counts as present: a repacked copy is the larger footprint under mmap.
    /// </summary>
    internal static bool HostRepacks(GgmlType type, HostFacts host) => type != GgmlType.Q2_K || host.Avx512 != false;

    // Counting by loops, not LINQ or Array.IndexOf over DeviceRef (a Core value type: not precompiled, JIT-compiled on
    // every build's first check).

    /// <summary>The first layer placed on <paramref name="device"/>, or -1.</summary>
    internal static int FirstLayerOn(DeviceRef[] layerDevices, DeviceRef device)
    {
        for (var i = 0; i < layerDevices.Length; i++)
        {
            if (layerDevices[i] == device) return i;
        }
        return -1;
    }

    /// <summary>How many layers are placed on <paramref name="device"/>.</summary>
    internal static int LayersOn(DeviceRef[] layerDevices, DeviceRef device)
    {
        var count = 0;
        foreach (var layerDevice in layerDevices)
        {
            if (layerDevice == device) count++;
        }
        return count;
    }

    /// <summary>How many layers are placed on a GPU.</summary>
    internal static int GpuLayers(DeviceRef[] layerDevices)
    {
        var count = 0;
        foreach (var layerDevice in layerDevices)
        {
            if (!layerDevice.IsCpu) count++;
        }
        return count;
    }

    /// <summary>
    /// True when the CPU backend would repack this tensor: a weight of a repackable type whose op the repack buffer
    /// supports (<c>extra_buffer_type::supports_op</c> in <c>ggml/src/ggml-cpu/repack.cpp</c>: MUL_MAT of a 2-D weight,
    /// MUL_MAT_ID of a 3-D expert tensor — so not the token embedding (GET_ROWS), norms, biases, or 3-D per-head
    /// matmul weights such as DeepSeek's <c>attn_k_b</c> / <c>attn_v_b</c>), with a row count that is a multiple of
    /// the 8-row interleave.
    /// </summary>
    public static bool IsRepackable(TensorSummary tensor)
    {
        if (tensor is null) throw new ArgumentNullException(nameof(tensor));
        if (!IsRepackableType(tensor.Type)) return false;
        if (tensor.Role is TensorRole.TokenEmbedding or TensorRole.Norm or TensorRole.Other) return false;
        var wanted = tensor.Role == TensorRole.ExpertFfn ? 3 : 2;
        if (DimensionCount(tensor.Dimensions) != wanted) return false;
        return tensor.Dimensions[1] % 8 == 0;
    }

    // ggml_n_dims: the dimensions up to the last one larger than 1 (at least 1).
    private static int DimensionCount(IReadOnlyList<long> dimensions)
    {
        var count = dimensions.Count;
        while (count > 1 && dimensions[count - 1] == 1) count--;
        return Math.Max(1, count);
    }

    /// <summary>True for tensors whose op is a matrix multiplication (these are offloaded to a GPU in large batches).</summary>
    public static bool IsMatmulWeight(TensorSummary tensor) =>
        tensor.Dimensions.Count >= 2 && tensor.Role is not (TensorRole.TokenEmbedding or TensorRole.Norm);

    private static DeviceRef? ParseDevice(string name, int gpuCount, out string? problem)
    {
        problem = null;
        var trimmed = (name ?? string.Empty).Trim();
        if (string.Equals(trimmed, "CPU", StringComparison.OrdinalIgnoreCase)) return DeviceRef.Cpu;
        if (IsDroppedByLlamaSharp(trimmed))
        {
            problem = "LLamaSharp 0.30 silently drops an override naming " + CpuRepackBufferType + " (docs/evidence.md#llamasharp-030-behaviour)";
            return null;
        }
        if (trimmed.EndsWith("_Host", StringComparison.OrdinalIgnoreCase)) return DeviceRef.Cpu;

        var digits = 0;
        while (digits < trimmed.Length && char.IsDigit(trimmed[trimmed.Length - 1 - digits])) digits++;
        if (digits > 0 && digits < trimmed.Length && digits <= 4)
        {
            var index = int.Parse(trimmed.Substring(trimmed.Length - digits), NumberStyles.None, CultureInfo.InvariantCulture);
            if (index < gpuCount) return DeviceRef.Gpu(index);
            problem = "the profile declares " + gpuCount.ToString(CultureInfo.InvariantCulture) + " GPU(s), so '" + trimmed + "' does not exist";
            return null;
        }
        problem = "'" + trimmed + "' is not a buffer type llama.cpp knows (use CPU or a GPU such as Vulkan0)";
        return null;
    }

    private static float[] CumulativeSplits(IReadOnlyList<double> shares)
    {
        if (shares.Count == 0) return Array.Empty<float>();
        var splits = new float[shares.Count];
        float sum = 0;
        for (var i = 0; i < shares.Count; i++)
        {
            sum += (float)Math.Max(0, shares[i]);
            splits[i] = sum;
        }
        if (sum <= 0) return Array.Empty<float>(); // nothing to split by: llama.cpp would offload nothing useful
        for (var i = 0; i < splits.Length; i++) splits[i] /= sum;
        return splits;
    }

    private static int UpperBound(float[] sorted, float value)
    {
        var lo = 0;
        var hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] > value) hi = mid; else lo = mid + 1;
        }
        return lo;
    }
}
