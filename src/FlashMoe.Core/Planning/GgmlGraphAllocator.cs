using System;

namespace FlashMoe.Planning;

/// <summary>
/// ggml-alloc's graph allocator (<c>ggml/src/ggml-alloc.c</c>), replayed over a <see cref="ReplayGraph"/>.
/// <para>
/// The allocator, as in <c>ggml_gallocr_alloc_graph_impl</c> / <c>ggml_dyn_tallocr_alloc</c>:
/// graph inputs are allocated first; then, node by node in graph order, the node is allocated — in place of its first
/// own, non-view parent when the op can run in place (<c>ggml_op_can_inplace</c>: ADD, MUL, DIV, RMS_NORM, SOFT_MAX,
/// ROPE, CLAMP, …), that parent has no other consumer and the layouts match — else into the best-fitting free block
/// other than the last one, else at the end (growing the buffer); after each node, parents whose consumers are all done
/// are freed (a view keeps its source alive until the view's consumers are done) and adjacent free blocks merge.
/// Graph outputs (<c>result_norm</c>, <c>result_output</c>) are never freed; views and weights take no compute memory.
/// </para>
/// </summary>
internal static class GgmlGraphAllocator
{
    /// <summary>The highest offset the allocator reaches over <paramref name="graph"/>: the compute buffer's size.</summary>
    public static long Allocate(ReplayGraph graph, long alignment)
    {
        var allocator = new DynamicAllocator(alignment);

        // ggml_gallocr_alloc_graph_impl allocates the graph's leafs first, in leaf order (the order the graph found them,
        // which is the order the builder creates the inputs in, the unselected embeddings input included).
        foreach (var input in graph.Inputs) AllocateTensor(allocator, input);

        foreach (var node in graph.Nodes)
        {
            if (node.IsView && node.ViewOf is not null) node.ViewOf.Views++;
            foreach (var source in node.Sources) source.Children++;
        }

        foreach (var node in graph.Nodes)
        {
            AllocateTensor(allocator, node);
            foreach (var parent in node.Sources)
            {
                parent.Children--;
                if (parent.Children != 0 || parent.Views != 0) continue;
                if (parent.IsView)
                {
                    var source = parent.ViewOf;
                    if (source is null) continue;
                    source.Views--;
                    if (source.Views == 0 && source.Children == 0 && source.Allocated) Free(allocator, source);
                }
                else if (parent.Allocated)
                {
                    Free(allocator, parent);
                }
            }
        }
        return allocator.MaxSize;
    }

    /// <summary>
    /// The bytes of the buffer a graph of the same topology touches when it runs in the layout ggml-alloc planned for
    /// <paramref name="reserved"/>: ggml_gallocr_alloc_graph keeps the reserved offsets while the graph has the same
    /// nodes and each fits its reserved size (<c>ggml_gallocr_needs_realloc</c>), so each tensor of
    /// <paramref name="actual"/> writes [reserved offset, + its own size). The union of those ranges, in whole
    /// <paramref name="pageBytes"/> pages, is what becomes resident; the rest of the buffer is never written and, being
    /// fresh anonymous memory, never paged in.
    /// </summary>
    /// <param name="reserved">The graph the buffer is reserved for (allocated here).</param>
    /// <param name="actual">The graph that runs; when its topology differs, ggml-alloc re-plans and the whole buffer counts.</param>
    /// <param name="alignment">The buffer type's alignment.</param>
    /// <param name="pageBytes">The kernel's page size.</param>
    /// <param name="reservedBytes">The buffer's size, as <see cref="Allocate"/> gives it.</param>
    public static long TouchedBytes(ReplayGraph reserved, ReplayGraph actual, long alignment, long pageBytes, out long reservedBytes)
    {
        reservedBytes = Allocate(reserved, alignment);
        if (reserved.Inputs.Count != actual.Inputs.Count || reserved.Nodes.Count != actual.Nodes.Count) return reservedBytes;

        var starts = new long[reserved.Inputs.Count + reserved.Nodes.Count];
        var ends = new long[starts.Length];
        var count = 0;
        void Add(ReplayTensor placed, ReplayTensor run)
        {
            if (!placed.Placed || run.Bytes <= 0) return;
            starts[count] = placed.Offset / pageBytes * pageBytes;
            ends[count] = (placed.Offset + Math.Min(run.Bytes, placed.Bytes) + pageBytes - 1) / pageBytes * pageBytes;
            count++;
        }
        for (var i = 0; i < reserved.Inputs.Count; i++) Add(reserved.Inputs[i], actual.Inputs[i]);
        for (var i = 0; i < reserved.Nodes.Count; i++) Add(reserved.Nodes[i], actual.Nodes[i]);

        // The union of the page ranges: sorted by start, merged where they overlap or touch.
        SortByStart(starts, ends, count);
        long touched = 0, runStart = 0, runEnd = -1;
        for (var i = 0; i < count; i++)
        {
            if (starts[i] > runEnd)
            {
                if (runEnd > runStart) touched += runEnd - runStart;
                runStart = starts[i];
                runEnd = ends[i];
            }
            else if (ends[i] > runEnd)
            {
                runEnd = ends[i];
            }
        }
        if (runEnd > runStart) touched += runEnd - runStart;
        return Math.Min(touched, reservedBytes);
    }

    /// <summary>
    /// Heap sort of <paramref name="starts"/> (with <paramref name="ends"/> alongside). Hand-written, not
    /// <c>Array.Sort(keys, items)</c>: that generic helper over two long arrays is not precompiled (ReadyToRun) and
    /// would be JIT-compiled on every build's first check.
    /// </summary>
    private static void SortByStart(long[] starts, long[] ends, int count)
    {
        for (var root = count / 2 - 1; root >= 0; root--) SiftDown(starts, ends, root, count);
        for (var last = count - 1; last > 0; last--)
        {
            Swap(starts, ends, 0, last);
            SiftDown(starts, ends, 0, last);
        }
    }

    private static void SiftDown(long[] starts, long[] ends, int root, int count)
    {
        while (true)
        {
            var child = 2 * root + 1;
            if (child >= count) return;
            if (child + 1 < count && starts[child + 1] > starts[child]) child++;
            if (starts[root] >= starts[child]) return;
            Swap(starts, ends, root, child);
            root = child;
        }
    }

    private static void Swap(long[] starts, long[] ends, int i, int j)
    {
        (starts[i], starts[j]) = (starts[j], starts[i]);
        (ends[i], ends[j]) = (ends[j], ends[i]);
    }

    private static void AllocateTensor(DynamicAllocator allocator, ReplayTensor node)
    {
        if (node.Allocated || node.IsView) return;
        node.Allocated = true;
        node.Placed = true;
        if (node.CanInplace)
        {
            foreach (var parent in node.Sources)
            {
                // Only memory the allocator owns (not views, weights or freed tensors), never a graph output.
                if (!parent.Allocated || parent.IsOutput || !SameLayout(parent, node)) continue;
                if (parent.Children == 1 && parent.Views == 0)
                {
                    node.Offset = parent.Offset;
                    parent.Allocated = false; // the node owns it now
                    return;
                }
            }
        }
        node.Offset = allocator.Allocate(node.Bytes);
    }

    // ggml_are_same_layout: same type and shape (every tensor replayed here is contiguous).
    private static bool SameLayout(ReplayTensor a, ReplayTensor b)
    {
        if (a.ElementType < 0 || a.ElementType != b.ElementType || a.Shape is null || b.Shape is null || a.Shape.Length != b.Shape.Length) return false;
        for (var i = 0; i < a.Shape.Length; i++)
        {
            if (a.Shape[i] != b.Shape[i]) return false;
        }
        return true;
    }

    private static void Free(DynamicAllocator allocator, ReplayTensor tensor)
    {
        if (tensor.IsOutput) return;
        allocator.Free(tensor.Offset, tensor.Bytes);
        tensor.Allocated = false;
    }

    /// <summary><c>ggml_dyn_tallocr</c> with one chunk (the CPU buffer type has no maximum size).</summary>
    private sealed class DynamicAllocator
    {
        private readonly long _alignment;
        // The free blocks, sorted by offset, in two arrays rather than List<long>: that instantiation is not
        // precompiled (ReadyToRun) and would be JIT-compiled on every build's first check.
        private long[] _offsets = { 0, 0, 0, 0, 0, 0, 0, 0 };
        private long[] _sizes = { long.MaxValue / 4, 0, 0, 0, 0, 0, 0, 0 };
        private int _count = 1;

        public DynamicAllocator(long alignment) => _alignment = alignment;

        public long MaxSize { get; private set; }

        public long Allocate(long bytes)
        {
            var size = Align(bytes);
            // best fit among the free blocks except the last; ties go to the later block (<=)
            var best = -1;
            var bestSize = long.MaxValue;
            for (var i = 0; i < _count - 1; i++)
            {
                if (_sizes[i] >= size && _sizes[i] <= bestSize)
                {
                    best = i;
                    bestSize = _sizes[i];
                }
            }
            if (best < 0) best = _count - 1;

            var offset = _offsets[best];
            _offsets[best] = offset + size;
            _sizes[best] -= size;
            if (_sizes[best] == 0)
            {
                RemoveAt(best);
            }
            MaxSize = Math.Max(MaxSize, offset + size);
            // Each tensor is at most SaturatedBytes, so stopping here keeps every offset far from overflowing.
            if (MaxSize > ComputeBufferEstimator.SaturatedBytes) throw new OverflowException("The replayed compute buffer exceeds 2^56 bytes.");
            return offset;
        }

        public void Free(long offset, long bytes)
        {
            var size = Align(bytes);
            for (var i = 0; i < _count; i++)
            {
                if (_offsets[i] + _sizes[i] == offset)
                {
                    _sizes[i] += size;
                    if (i < _count - 1 && _offsets[i] + _sizes[i] == _offsets[i + 1])
                    {
                        _sizes[i] += _sizes[i + 1];
                        RemoveAt(i + 1);
                    }
                    return;
                }
                if (offset + size == _offsets[i])
                {
                    _offsets[i] = offset;
                    _sizes[i] += size;
                    if (i > 0 && _offsets[i - 1] + _sizes[i - 1] == _offsets[i])
                    {
                        _sizes[i - 1] += _sizes[i];
                        RemoveAt(i);
                    }
                    return;
                }
            }
            var at = 0;
            while (at < _count && _offsets[at] < offset) at++;
            InsertAt(at, offset, size);
        }

        private void RemoveAt(int index)
        {
            _count--;
            Array.Copy(_offsets, index + 1, _offsets, index, _count - index);
            Array.Copy(_sizes, index + 1, _sizes, index, _count - index);
        }

        private void InsertAt(int index, long offset, long size)
        {
            if (_count == _offsets.Length)
            {
                var offsets = new long[_count * 2];
                var sizes = new long[_count * 2];
                Array.Copy(_offsets, offsets, _count);
                Array.Copy(_sizes, sizes, _count);
                _offsets = offsets;
                _sizes = sizes;
            }
            Array.Copy(_offsets, index, _offsets, index + 1, _count - index);
            Array.Copy(_sizes, index, _sizes, index + 1, _count - index);
            _offsets[index] = offset;
            _sizes[index] = size;
            _count++;
        }

        private long Align(long bytes) => (bytes + _alignment - 1) / _alignment * _alignment;
    }
}
