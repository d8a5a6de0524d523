using System.Globalization;
using System.Text.Json;

namespace Quiver;

/// <summary>Sparse vector values on their way in (the embedded API's and the remote client's input forms); the engine's
/// byte form of a column of them is <c>SparseCodec</c>.</summary>
internal static class SparseValues
{
    /// <summary>Converts an input value to a checked <see cref="SparseVector"/>: a <see cref="SparseVector"/>, a
    /// dictionary of index to value (any integer key type, or strings of digits; any numeric value), a sequence of
    /// (index, value) pairs, Milvus's row bytes, or a JSON object <c>{"index": value}</c> /
    /// <c>{"indices": [...], "values": [...]}</c>. Null with <paramref name="error"/> naming the problem.</summary>
    public static SparseVector? Convert(object value, out string? error)
    {
        error = null;
        switch (value)
        {
            case SparseVector v:
                return v;
            case byte[] bytes:
                return SparseVector.TryFromBytes(bytes, out error);
            case JsonElement { ValueKind: JsonValueKind.Object } json:
                return FromJson(json, out error);
            case System.Collections.IDictionary map:
            {
                var pairs = new List<(long Index, double Value)>(map.Count);
                foreach (System.Collections.DictionaryEntry e in map)
                {
                    if (!TryIndex(e.Key, out var index) || !TryNumber(e.Value, out var number))
                    {
                        error = $"sparse vector entry {e.Key}: {e.Value} is not an integer index with a number value";
                        return null;
                    }

                    pairs.Add((index, number));
                }

                // A dictionary has no order: its keys are sorted (and being keys, never repeat).
                pairs.Sort((x, y) => x.Index.CompareTo(y.Index));
                return FromPairs(pairs, out error);
            }

            case IEnumerable<KeyValuePair<uint, float>> kv:
                return FromPairs([.. kv.Select(p => ((long)p.Key, (double)p.Value))], out error);
            case IEnumerable<KeyValuePair<int, float>> kv:
                return FromPairs([.. kv.Select(p => ((long)p.Key, (double)p.Value))], out error);
            case IEnumerable<KeyValuePair<long, float>> kv:
                return FromPairs([.. kv.Select(p => (p.Key, (double)p.Value))], out error);
        }

        error = $"expected a sparse vector ({{index: value}}), got {value.GetType().Name}";
        return null;
    }

    /// <summary>A vector from pairs in the order given: the order must already be ascending (for the forms that carry
    /// an order, index and value arrays, unsorted and repeated indices are refused rather than reordered).</summary>
    public static SparseVector? FromPairs(IReadOnlyList<(long Index, double Value)> pairs, out string? error)
    {
        var indices = new uint[pairs.Count];
        var values = new float[pairs.Count];
        for (var i = 0; i < pairs.Count; i++)
        {
            var (index, value) = pairs[i];
            if (index is < 0 or > SparseVector.MaxIndex)
            {
                error = $"index {index} is out of range [0, {SparseVector.MaxIndex}]";
                return null;
            }

            indices[i] = (uint)index;
            values[i] = (float)value;
        }

        return SparseVector.TryCreate(indices, values, out error);
    }

    private static SparseVector? FromJson(JsonElement json, out string? error)
    {
        if (JsonLimits.Problem(json) is { } problem)
        {
            // An index given as an escaped lone surrogate could not even be read as a name.
            error = problem;
            return null;
        }

        var pairs = new List<(long, double)>();
        if (json.TryGetProperty("indices", out var idx) && json.TryGetProperty("values", out var vals))
        {
            if (idx.ValueKind != JsonValueKind.Array || vals.ValueKind != JsonValueKind.Array || idx.GetArrayLength() != vals.GetArrayLength())
            {
                error = "'indices' and 'values' must be arrays of one length";
                return null;
            }

            for (var i = 0; i < idx.GetArrayLength(); i++)
            {
                if (!idx[i].TryGetInt64(out var index) || vals[i].ValueKind != JsonValueKind.Number)
                {
                    error = $"entry {i}: {idx[i]} / {vals[i]} is not an integer index with a number value";
                    return null;
                }

                pairs.Add((index, vals[i].GetDouble()));
            }
        }
        else
        {
            foreach (var p in json.EnumerateObject())
            {
                if (!long.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || p.Value.ValueKind != JsonValueKind.Number)
                {
                    error = $"entry '{p.Name}': {p.Value} is not an integer index with a number value";
                    return null;
                }

                pairs.Add((index, p.Value.GetDouble()));
            }

            // An object's keys have no order (a key given twice is still refused, as a repeated index).
            pairs.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        }

        return FromPairs(pairs, out error);
    }

    private static bool TryIndex(object key, out long index)
    {
        switch (key)
        {
            case int i: index = i; return true;
            case uint u: index = u; return true;
            case long l: index = l; return true;
            case string s: return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out index);
            default: index = 0; return false;
        }
    }

    private static bool TryNumber(object? value, out double number)
    {
        switch (value)
        {
            case float f: number = f; return true;
            case double d: number = d; return true;
            case int i: number = i; return true;
            case long l: number = l; return true;
            default: number = 0; return false;
        }
    }
}
