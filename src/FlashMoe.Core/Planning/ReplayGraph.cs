using System;
using System.Collections.Generic;

namespace FlashMoe.Planning;

/// <summary>
/// A tensor of the graph <see cref="GraphAllocationReplay"/> replays: its size, layout and sources, and the
/// allocator's bookkeeping for it (<c>hash_node</c> in ggml-alloc.c).
/// </summary>
internal sealed class ReplayTensor
{
    public ReplayTensor(long bytes, int elementType, long[]? shape, ReplayTensor[] sources, bool canInplace, ReplayTensor? viewOf, bool isView)
    {
        Bytes = bytes;
        ElementType = elementType;
        Shape = shape;
        Sources = sources;
        CanInplace = canInplace;
        ViewOf = viewOf;
        IsView = isView;
    }

    public long Bytes { get; }
    /// <summary>0 = f32, 1 = i32; inputs and views have no layout another tensor could share.</summary>
    public int ElementType { get; }
    public long[]? Shape { get; }
    public ReplayTensor[] Sources { get; }
    public bool CanInplace { get; }
    /// <summary>The tensor whose memory a view shares (null for views of weights or of the KV cache).</summary>
    public ReplayTensor? ViewOf { get; }
    public bool IsView { get; }
    public bool IsOutput { get; set; }

    // allocator state (hash_node)
    public int Children;
    public int Views;
    public bool Allocated;
    /// <summary>The allocator gave the tensor an offset (it stays recorded after the tensor is freed).</summary>
    public bool Placed;
    public long Offset;
}

/// <summary>The replayed graph: its inputs, then its nodes in execution order.</summary>
internal sealed class ReplayGraph
{
    public List<ReplayTensor> Inputs { get; } = new();
    public List<ReplayTensor> Nodes { get; } = new();

    public ReplayTensor Input(long bytes)
    {
        if (bytes > ComputeBufferEstimator.SaturatedBytes) throw new OverflowException("A graph input exceeds 2^56 bytes.");
        var t = new ReplayTensor(bytes, -1, null, Array.Empty<ReplayTensor>(), false, null, false);
        Inputs.Add(t);
        return t;
    }

    /// <summary>An op producing a new f32 tensor of the given shape.</summary>
    public ReplayTensor Op(bool inplace, long[] shape, params ReplayTensor?[] sources) =>
        Add(new ReplayTensor(Bytes(shape), 0, shape, NonNull(sources), inplace, null, false));

    /// <summary>
    /// An op producing a new tensor of <paramref name="elementBytes"/>-byte elements (a copy of an f16 K cache view). It
    /// never runs in place, so its layout only has to differ from the f32 tensors'.
    /// </summary>
    public ReplayTensor OpOfElement(long elementBytes, long[] shape, params ReplayTensor?[] sources) =>
        Add(new ReplayTensor(Bytes(shape) / 4 * elementBytes, 2, shape, NonNull(sources), false, null, false));

    /// <summary>An op producing a new i32 tensor (ARGSORT).</summary>
    public ReplayTensor OpI32(long[] shape, params ReplayTensor?[] sources) =>
        Add(new ReplayTensor(Bytes(shape), 1, shape, NonNull(sources), false, null, false));

    /// <summary>A view (reshape, permute, view_nd) of <paramref name="source"/>: no memory, keeps its base alive.</summary>
    public ReplayTensor View(ReplayTensor source) =>
        Add(new ReplayTensor(0, -1, null, new[] { source }, false, source.IsView ? source.ViewOf : source, true));

    /// <summary>A view of memory outside the compute buffer (KV cache views, SET_ROWS into the cache).</summary>
    public ReplayTensor ExternalView(params ReplayTensor?[] sources) =>
        Add(new ReplayTensor(0, -1, null, NonNull(sources), false, null, true));

    private ReplayTensor Add(ReplayTensor t)
    {
        Nodes.Add(t);
        return t;
    }

    private static ReplayTensor[] NonNull(ReplayTensor?[] sources)
    {
        var list = new List<ReplayTensor>(sources.Length);
        foreach (var s in sources) if (s is not null) list.Add(s);
        return list.ToArray();
    }

    /// <summary>
    /// Bytes of a 4-byte-element tensor. Past <see cref="ComputeBufferEstimator.SaturatedBytes"/> it throws
    /// <see cref="OverflowException"/> (the caller saturates), so no offset sum in the allocator can overflow.
    /// </summary>
    public static long Bytes(long[] shape)
    {
        long n = 4;
        foreach (var d in shape) n = checked(n * d);
        if (n > ComputeBufferEstimator.SaturatedBytes) throw new OverflowException("A tensor of the replayed graph exceeds 2^56 bytes.");
        return n;
    }
}
