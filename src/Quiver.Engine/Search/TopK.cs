namespace Quiver.Search;

/// <summary>Keeps the k smallest keys seen, with a 64-bit payload each, as a bounded max-heap: the worst kept key is at
/// the root, so a candidate is rejected with one comparison. Keys are "smaller is closer" (callers negate similarities).
/// Ties on the key are broken by the smaller payload, which makes results deterministic. Not thread-safe.</summary>
internal sealed class TopK
{
    private readonly float[] _keys;
    private readonly long[] _ids;

    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        _keys = new float[k];
        _ids = new long[k];
    }

    public int Capacity => _keys.Length;

    public int Count { get; private set; }

    /// <summary>The key a candidate must beat to enter; +Inf until the heap is full.</summary>
    public float Threshold => Count < _keys.Length ? float.PositiveInfinity : _keys[0];

    public void Clear() => Count = 0;

    public void Add(float key, long id)
    {
        if (Count < _keys.Length)
        {
            var i = Count++;
            while (i > 0)
            {
                var parent = (i - 1) >> 1;
                if (!Worse(key, id, _keys[parent], _ids[parent]))
                {
                    break;
                }

                _keys[i] = _keys[parent];
                _ids[i] = _ids[parent];
                i = parent;
            }

            _keys[i] = key;
            _ids[i] = id;
            return;
        }

        if (!Worse(_keys[0], _ids[0], key, id))
        {
            return;
        }

        SiftDown(key, id);
    }

    /// <summary>Drains the heap into (key, id) pairs sorted best first.</summary>
    public (float Key, long Id)[] ToSortedArray()
    {
        var result = new (float, long)[Count];
        for (var i = 0; i < Count; i++)
        {
            result[i] = (_keys[i], _ids[i]);
        }

        Array.Sort(result, static (a, b) => a.Item1 != b.Item1 ? a.Item1.CompareTo(b.Item1) : a.Item2.CompareTo(b.Item2));
        return result;
    }

    /// <summary>Writes the kept hits, best first (ties by smaller id), into <paramref name="hits"/> with ids as rows, and
    /// empties the heap. Allocation-free, for index searches that reuse one heap per thread.</summary>
    public int DrainSorted(Span<Indexing.IndexHit> hits)
    {
        var n = Count;
        for (var i = 0; i < n; i++)
        {
            hits[i] = new Indexing.IndexHit(_keys[i], (int)_ids[i]);
        }

        hits[..n].Sort(static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Row.CompareTo(b.Row));
        Count = 0;
        return n;
    }

    private static bool Worse(float keyA, long idA, float keyB, long idB) => keyA > keyB || (keyA == keyB && idA > idB);

    private void SiftDown(float key, long id)
    {
        var n = Count;
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Worse(_keys[child + 1], _ids[child + 1], _keys[child], _ids[child]))
            {
                child++;
            }

            if (!Worse(_keys[child], _ids[child], key, id))
            {
                break;
            }

            _keys[i] = _keys[child];
            _ids[i] = _ids[child];
            i = child;
        }

        _keys[i] = key;
        _ids[i] = id;
    }
}
