namespace Quiver.Indexing;

/// <summary>Binary max-heap steps over parallel (key, value) spans, shared by the IVF probe selection (a bounded heap of
/// the smallest keys) and the ANNOY priority queue. Callers own the storage, so a search allocates nothing.</summary>
internal static class MaxHeap
{
    /// <summary>Places (key, value) at slot <paramref name="i"/> (the new last slot) and sifts it up.</summary>
    public static void SiftUp(Span<float> keys, Span<int> values, int i, float key, int value)
    {
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (keys[parent] >= key)
            {
                break;
            }

            keys[i] = keys[parent];
            values[i] = values[parent];
            i = parent;
        }

        keys[i] = key;
        values[i] = value;
    }

    /// <summary>Replaces the root of a heap of <paramref name="count"/> items with (key, value) and sifts it down.</summary>
    public static void ReplaceTop(Span<float> keys, Span<int> values, int count, float key, int value)
    {
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && keys[child + 1] > keys[child])
            {
                child++;
            }

            if (keys[child] <= key)
            {
                break;
            }

            keys[i] = keys[child];
            values[i] = values[child];
            i = child;
        }

        keys[i] = key;
        values[i] = value;
    }
}
