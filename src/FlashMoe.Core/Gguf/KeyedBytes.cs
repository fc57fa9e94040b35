using System.Collections;
using System.Collections.Generic;

namespace FlashMoe.Gguf;

/// <summary>
/// Bytes per key for the few keys a model has (its tensor roles, its ggml types), in insertion order, behind
/// <see cref="IReadOnlyDictionary{TKey, TValue}"/>. Not a <c>Dictionary&lt;TKey, long&gt;</c>: that instantiation over
/// Core's enums is not precompiled (ReadyToRun), so every build's first check would JIT-compile it (about 35 methods);
/// Core's own generic class over its own enums is. A linear search is as fast for a dozen keys.
/// </summary>
internal abstract class KeyedBytes<TKey> : IReadOnlyDictionary<TKey, long> where TKey : struct
{
    private TKey[] _keys = new TKey[8];
    private long[] _values = new long[8];
    private int _count;

    /// <summary>Whether two keys are the same (the enums' own ==; no framework comparer).</summary>
    protected abstract bool Same(TKey a, TKey b);

    /// <summary>Adds <paramref name="bytes"/> to <paramref name="key"/>'s total (saturating at <see cref="long.MaxValue"/>), adding the key if new.</summary>
    public void Add(TKey key, long bytes)
    {
        var at = IndexOf(key);
        if (at >= 0)
        {
            _values[at] = GgufFile.SaturatingAdd(_values[at], bytes);
            return;
        }
        if (_count == _keys.Length)
        {
            var keys = new TKey[_count * 2];
            var values = new long[_count * 2];
            for (var i = 0; i < _count; i++)
            {
                keys[i] = _keys[i];
                values[i] = _values[i];
            }
            _keys = keys;
            _values = values;
        }
        _keys[_count] = key;
        _values[_count] = bytes;
        _count++;
    }

    /// <summary>The number of keys; with <see cref="KeyAt"/> and <see cref="ValueAt"/>, a walk without <see cref="KeyValuePair{TKey, TValue}"/>.</summary>
    public int Count => _count;

    /// <summary>The key at <paramref name="index"/> (insertion order).</summary>
    public TKey KeyAt(int index) => _keys[index];

    /// <summary>The bytes at <paramref name="index"/>.</summary>
    public long ValueAt(int index) => _values[index];

    public long this[TKey key] => IndexOf(key) is var at && at >= 0 ? _values[at] : throw new KeyNotFoundException(key.ToString());

    public IEnumerable<TKey> Keys
    {
        get
        {
            for (var i = 0; i < _count; i++) yield return _keys[i];
        }
    }

    public IEnumerable<long> Values
    {
        get
        {
            for (var i = 0; i < _count; i++) yield return _values[i];
        }
    }

    public bool ContainsKey(TKey key) => IndexOf(key) >= 0;

    public bool TryGetValue(TKey key, out long value)
    {
        var at = IndexOf(key);
        value = at >= 0 ? _values[at] : 0;
        return at >= 0;
    }

    public IEnumerator<KeyValuePair<TKey, long>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++) yield return new KeyValuePair<TKey, long>(_keys[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(TKey key)
    {
        for (var i = 0; i < _count; i++)
        {
            if (Same(_keys[i], key)) return i;
        }
        return -1;
    }
}

/// <summary>Bytes per tensor role (<see cref="ModelSummary.BytesByRole"/>).</summary>
internal sealed class RoleBytes : KeyedBytes<TensorRole>
{
    protected override bool Same(TensorRole a, TensorRole b) => a == b;
}

/// <summary>Bytes per ggml type (<see cref="ModelSummary.BytesByType"/>).</summary>
internal sealed class TypeBytes : KeyedBytes<GgmlType>
{
    protected override bool Same(GgmlType a, GgmlType b) => a == b;

    /// <summary>
    /// The type holding the most bytes (the first of equals), or F16 when there is none: the one dominant type a
    /// declared model or a parameter estimate assumes. Walks Core's own table when it can (no framework generics).
    /// </summary>
    public static GgmlType Dominant(IReadOnlyDictionary<GgmlType, long> bytesByType)
    {
        var type = GgmlType.F16;
        long biggest = -1;
        if (bytesByType is TypeBytes own)
        {
            for (var i = 0; i < own.Count; i++)
            {
                if (own.ValueAt(i) > biggest) { biggest = own.ValueAt(i); type = own.KeyAt(i); }
            }
            return type;
        }
        foreach (var pair in bytesByType)
        {
            if (pair.Value > biggest) { biggest = pair.Value; type = pair.Key; }
        }
        return type;
    }
}
