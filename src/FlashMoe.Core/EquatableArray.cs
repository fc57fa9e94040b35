using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace FlashMoe;

/// <summary>
/// An immutable array with value equality, so records that hold lists (profiles, parse results)
/// compare by content. The source generator relies on this to cache pipeline steps.
/// </summary>
public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
{
    private readonly T[]? _items;

    /// <summary>Wraps a copy of <paramref name="items"/>.</summary>
    public EquatableArray(IEnumerable<T> items) => _items = items.ToArray();

    private EquatableArray(T[] items, bool owned) => _items = owned ? items : items.ToArray();

    /// <summary>
    /// Wraps <paramref name="items"/> itself, without a copy or LINQ (generic LINQ over Core's value types is not
    /// precompiled and is JIT-compiled on a build's first check); the caller must not keep or change the array.
    /// </summary>
    internal static EquatableArray<T> Own(T[] items) => new(items, owned: true);

    /// <summary>An empty array.</summary>
    public static EquatableArray<T> Empty => default;

    /// <inheritdoc />
    public int Count => _items?.Length ?? 0;

    /// <inheritdoc />
    public T this[int index] => (_items ?? Array.Empty<T>())[index];

    /// <inheritdoc />
    public bool Equals(EquatableArray<T> other)
    {
        var left = _items ?? Array.Empty<T>();
        var right = other._items ?? Array.Empty<T>();
        if (left.Length != right.Length) return false;
        var comparer = EqualityComparer<T>.Default;
        for (var i = 0; i < left.Length; i++)
        {
            if (!comparer.Equals(left[i], right[i])) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        unchecked
        {
            var hash = 17;
            foreach (var item in _items ?? Array.Empty<T>())
            {
                hash = (hash * 31) + (item is null ? 0 : EqualityComparer<T>.Default.GetHashCode(item));
            }
            return hash;
        }
    }

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => new Enumerator(_items ?? Array.Empty<T>());

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Core's own enumerator rather than the array's: ReadyToRun precompiles it for Core's instantiations, where the
    /// framework's array enumerator over a Core value type would be JIT-compiled on every build's first check.
    /// </summary>
    private sealed class Enumerator : IEnumerator<T>
    {
        private readonly T[] _items;
        private int _index = -1;

        public Enumerator(T[] items) => _items = items;

        public T Current => _index >= 0 && _index < _items.Length
            ? _items[_index]
            : throw new InvalidOperationException("The enumeration has not started or has finished.");

        object? IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_index < _items.Length) _index++;
            return _index < _items.Length;
        }

        public void Reset() => _index = -1;

        public void Dispose()
        {
        }
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);
}

/// <summary>Factory helpers for <see cref="EquatableArray{T}"/>.</summary>
public static class EquatableArray
{
    /// <summary>Creates an equatable array from the given items.</summary>
    public static EquatableArray<T> Create<T>(params T[] items) => new(items);

    /// <summary>Copies a sequence into an equatable array.</summary>
    public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items) => new(items);
}
