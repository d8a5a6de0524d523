using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Collections;

namespace Quiver.Server.Milvus.Data;

/// <summary>A search's settings as read from Milvus's <c>search_params</c> key-value pairs.</summary>
internal sealed record SearchSettings
{
    /// <summary><c>anns_field</c>; null to let the engine pick the only vector field.</summary>
    public string? AnnsField { get; init; }

    /// <summary><c>topk</c> (the SDK's <c>limit</c>); Milvus's default is 10.</summary>
    public int TopK { get; init; } = 10;

    /// <summary><c>offset</c>.</summary>
    public int Offset { get; init; }

    /// <summary><c>metric_type</c>; null when empty (the field's metric).</summary>
    public MetricType? Metric { get; init; }

    /// <summary><c>round_decimal</c>; -1 means no rounding.</summary>
    public int RoundDecimal { get; init; } = -1;

    /// <summary><c>radius</c> (range search).</summary>
    public double? Radius { get; init; }

    /// <summary><c>range_filter</c> (range search).</summary>
    public double? RangeFilter { get; init; }

    /// <summary><c>group_by_field</c>.</summary>
    public string? GroupByField { get; init; }

    /// <summary><c>group_size</c>; default 1.</summary>
    public int GroupSize { get; init; } = 1;

    /// <summary><c>strict_group_size</c>: accepted; the engine fills groups as far as the data allows either way.</summary>
    public bool StrictGroupSize { get; init; }

    /// <summary><c>ignore_growing</c>: accepted and ignored (every segment is searched; see docs/server-data.md).</summary>
    public bool IgnoreGrowing { get; init; }

    /// <summary>Index parameters passed to the engine (<c>ef</c>, <c>nprobe</c>, <c>search_k</c>, <c>refine_k</c>, <c>exact</c>).
    /// Read-only: the settings of recent pairs are shared between calls (<see cref="SearchParamsParser.Parse"/>), so a
    /// caller that changed them would change every later search sent with the same pairs.</summary>
    public IReadOnlyDictionary<string, string> IndexParams { get; init; } = Empty;

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>(StringComparer.Ordinal).AsReadOnly();

    /// <summary>Search iterator v2 (<c>iterator</c> and <c>search_iter_v2</c> true).</summary>
    public bool IteratorV2 { get; init; }

    /// <summary><c>search_iter_batch_size</c>.</summary>
    public int? IteratorBatchSize { get; init; }

    /// <summary><c>search_iter_last_bound</c>: the score of the last hit the previous page returned.</summary>
    public float? IteratorLastBound { get; init; }

    /// <summary><c>search_iter_id</c>: the token the previous page returned.</summary>
    public string? IteratorToken { get; init; }

    /// <summary><c>timezone</c>: the IANA zone of this read (checked when parsed); null for the collection's.</summary>
    public string? Timezone { get; init; }
}

/// <summary>
/// Reads Milvus search parameters. The Node SDK sends <c>anns_field</c>, <c>topk</c>, <c>offset</c>,
/// <c>metric_type</c>, <c>ignore_growing</c>, <c>params</c> (the user's params object as JSON text), the group-by keys
/// when set, and every key of the params object again as its own pair (<c>ef</c>, <c>radius</c>, ...). Values in the
/// <c>params</c> JSON win over the flattened copies. Unknown keys are ignored as Milvus ignores them.
/// </summary>
internal static class SearchParamsParser
{
    /// <summary>Parses <paramref name="pairs"/>. Throws <see cref="MilvusException"/> (ParameterInvalid) naming the key
    /// and value that cannot be read. The settings are immutable and shared: a client sends the same pairs call after
    /// call, and the security gate and the handler both read them, so the settings of recent distinct pairs are kept
    /// (<see cref="RecentSettings"/>) and a repeat costs a comparison of the pairs, not a dictionary and a JSON parse.</summary>
    public static SearchSettings Parse(RepeatedField<Protocol.Common.KeyValuePair> pairs) =>
        Recent.Find(pairs) ?? Recent.Add(pairs, ParseUncached(pairs));

    private static readonly RecentSettings Recent = new();

    /// <summary>The search key carrying a cluster node's collection-wide BM25 statistics (see <see cref="SearchRequest.Bm25StatisticsParam"/>).</summary>
    internal const string Bm25StatisticsKey = SearchRequest.Bm25StatisticsParam;

    /// <summary>Parses <paramref name="pairs"/> without looking at or filling the recent settings.</summary>
    internal static SearchSettings ParseUncached(RepeatedField<Protocol.Common.KeyValuePair> pairs)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? paramsJson = null;
        foreach (var pair in pairs)
        {
            if (pair.Key == "params")
            {
                paramsJson = pair.Value;
            }
            else
            {
                values[pair.Key] = pair.Value;
            }
        }

        if (!string.IsNullOrWhiteSpace(paramsJson))
        {
            MergeParamsJson(paramsJson, values);
        }

        return FromValues(values);
    }

    /// <summary>The settings of values already read as text, key by key, with the checks <see cref="Parse"/> makes: the
    /// pairs' values with the <c>params</c> object's members over them (each as <see cref="ParamText"/> reads
    /// it). A transport that reads its request itself (REST) hands these over typed, not as pairs and JSON text.</summary>
    internal static SearchSettings FromValues(IReadOnlyDictionary<string, string> values)
    {
        var indexParams = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in SearchRequest.IndexSearchParams)
        {
            if (values.TryGetValue(name, out var v) && v.Length > 0)
            {
                indexParams[name] = v;
            }
        }

        if (values.TryGetValue(Bm25StatisticsKey, out var bm25) && bm25.Length > 0)
        {
            // A cluster node's collection-wide BM25 statistics for its shard's engine, which alone decides to read them.
            indexParams[Bm25StatisticsKey] = bm25;
        }

        var iterator = Bool(values, "iterator") && Bool(values, "search_iter_v2");
        return new SearchSettings
        {
            AnnsField = NonEmpty(values, "anns_field"),
            TopK = Int(values, "topk") ?? Int(values, "limit") ?? 10,
            Offset = Int(values, "offset") ?? 0,
            Metric = NonEmpty(values, "metric_type") is { } m ? ParseMetric(m) : null,
            RoundDecimal = Int(values, "round_decimal") ?? -1,
            Radius = Double(values, "radius"),
            RangeFilter = Double(values, "range_filter"),
            GroupByField = NonEmpty(values, "group_by_field"),
            GroupSize = Int(values, "group_size") ?? 1,
            StrictGroupSize = Bool(values, "strict_group_size"),
            IgnoreGrowing = Bool(values, "ignore_growing"),
            IndexParams = indexParams.AsReadOnly(),
            IteratorV2 = iterator,
            IteratorBatchSize = Int(values, "search_iter_batch_size"),
            IteratorLastBound = Double(values, "search_iter_last_bound") is { } b ? (float)b : null,
            IteratorToken = NonEmpty(values, "search_iter_id"),
            Timezone = CheckedZone(NonEmpty(values, Timestamptz.TimezoneProperty)),
        };
    }

    /// <summary>A <c>timezone</c> as given, once it is known to name an IANA zone (1100 with Milvus's message if not).</summary>
    private static string? CheckedZone(string? name)
    {
        if (name is not null)
        {
            _ = Timestamptz.RequireZone(name);
        }

        return name;
    }

    /// <summary>Milvus's metric names for dense float vectors.</summary>
    public static MetricType ParseMetric(string name) => VectorCodec.TryParseMetric(name, out var metric)
        ? metric
        : throw new MilvusException(MilvusCode.ParameterInvalid,
            $"metric type {name} is not supported: use L2, IP or COSINE (dense vectors), HAMMING or JACCARD (binary vectors)");

    /// <summary>Milvus's name of a metric.</summary>
    public static string MetricName(MetricType metric) => metric.MilvusName();

    private static void MergeParamsJson(string json, Dictionary<string, string> values)
    {
        JsonElement root;
        try
        {
            using var doc = JsonLimits.ParseText(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"search params: 'params' is not valid JSON: {e.Message}");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"search params: 'params' must be a JSON object, got {root.ValueKind}");
        }

        foreach (var p in root.EnumerateObject())
        {
            values[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Null => "",
                _ => p.Value.GetRawText(),
            };
        }
    }

    /// <summary>A member of a <c>params</c> object as <see cref="Parse"/> reads it from the JSON text: a string's value, ""
    /// for null, the JSON text of anything else (written compact, as the text the pairs would carry).</summary>
    internal static string ParamText(System.Text.Json.Nodes.JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "",
        JsonValueKind.String => value.GetValue<string>(),
        _ => value.ToJsonString(),
    };

    /// <summary><paramref name="text"/> as the settings read a text value: trimmed, or null when empty or blank.</summary>
    internal static string? NonEmptyText(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static string? NonEmpty(IReadOnlyDictionary<string, string> values, string key) =>
        values.TryGetValue(key, out var v) ? NonEmptyText(v) : null;

    private static bool Bool(IReadOnlyDictionary<string, string> values, string key) =>
        NonEmpty(values, key) is { } v && (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1");

    private static int? Int(IReadOnlyDictionary<string, string> values, string key)
    {
        if (NonEmpty(values, key) is not { } v)
        {
            return null;
        }

        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l))
        {
            return l is >= int.MinValue and <= int.MaxValue
                ? (int)l
                : throw new MilvusException(MilvusCode.ParameterInvalid, $"search params: {key} {v} is out of range");
        }

        // JSON numbers such as 10.0 arrive from some clients for integer settings.
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue)
        {
            return (int)d;
        }

        throw new MilvusException(MilvusCode.ParameterInvalid, $"search params: {key} must be an integer, got '{v}'");
    }

    private static double? Double(IReadOnlyDictionary<string, string> values, string key)
    {
        if (NonEmpty(values, key) is not { } v)
        {
            return null;
        }

        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new MilvusException(MilvusCode.ParameterInvalid, $"search params: {key} must be a number, got '{v}'");
    }
}

/// <summary>
/// The settings of the last <see cref="Capacity"/> distinct <c>search_params</c> lists, keyed by the pairs themselves
/// (keys and values in order, compared as text). Thread-safe without a lock: an entry is immutable and published by one
/// reference write, so a reader sees a whole entry or the one before it. Lists longer than <see cref="MaxChars"/> in all
/// (an iterator token, say) are parsed every time rather than held.
/// </summary>
internal sealed class RecentSettings
{
    /// <summary>How many distinct lists are kept; a new one replaces the oldest.</summary>
    public const int Capacity = 16;

    /// <summary>The longest list kept, in characters of its keys and values.</summary>
    public const int MaxChars = 2048;

    private readonly Entry?[] _entries = new Entry?[Capacity];
    private int _next;

    /// <summary>The settings parsed from pairs equal to <paramref name="pairs"/>, or null.</summary>
    public SearchSettings? Find(RepeatedField<Protocol.Common.KeyValuePair> pairs)
    {
        foreach (var entry in _entries)
        {
            if (entry is not null && entry.Matches(pairs))
            {
                return entry.Settings;
            }
        }

        return null;
    }

    /// <summary>Keeps <paramref name="settings"/> for <paramref name="pairs"/> and returns them.</summary>
    public SearchSettings Add(RepeatedField<Protocol.Common.KeyValuePair> pairs, SearchSettings settings)
    {
        var chars = 0;
        var copy = new string[pairs.Count * 2];
        for (var i = 0; i < pairs.Count; i++)
        {
            copy[2 * i] = pairs[i].Key;
            copy[(2 * i) + 1] = pairs[i].Value;
            chars += pairs[i].Key.Length + pairs[i].Value.Length;
        }

        if (chars <= MaxChars)
        {
            var slot = (int)((uint)Interlocked.Increment(ref _next) % Capacity);
            Volatile.Write(ref _entries[slot], new Entry(copy, settings));
        }

        return settings;
    }

    private sealed record Entry(string[] Pairs, SearchSettings Settings)
    {
        public bool Matches(RepeatedField<Protocol.Common.KeyValuePair> pairs)
        {
            if (pairs.Count * 2 != Pairs.Length)
            {
                return false;
            }

            for (var i = 0; i < pairs.Count; i++)
            {
                if (!string.Equals(pairs[i].Key, Pairs[2 * i], StringComparison.Ordinal)
                    || !string.Equals(pairs[i].Value, Pairs[(2 * i) + 1], StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
