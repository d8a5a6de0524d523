using System.Globalization;
using System.Text;
using Quiver.Search;
using Quiver.Shards;
using Quiver.TextAnalysis;

namespace Quiver.Sparse;

/// <summary>BM25's corpus statistics of one engine for a search's query terms: the rows the search's snapshot sees (N),
/// their summed length (Σ|d|) and, per query term (its hash), the rows holding it (df). A collection split over several
/// engines (a Quiver cluster's shards) scores with the sums of every engine's statistics, which are the statistics a
/// single engine holding every row would have: the cluster asks each shard for these (<see cref="Bm25Shared.Of"/>), sums
/// them (<see cref="Sum"/>) and sends the sum with the search (<see cref="Bm25Shared.Param"/>).</summary>
internal sealed record Bm25Statistics(long Rows, double TotalLength, IReadOnlyDictionary<uint, long> DocumentFrequencies)
{
    /// <summary>The statistics of the engines' rows together.</summary>
    public static Bm25Statistics Sum(IEnumerable<Bm25Statistics> parts)
    {
        long rows = 0;
        double length = 0;
        var df = new Dictionary<uint, long>();
        foreach (var part in parts)
        {
            rows += part.Rows;
            length += part.TotalLength;
            foreach (var (term, n) in part.DocumentFrequencies)
            {
                df[term] = df.GetValueOrDefault(term) + n;
            }
        }

        return new Bm25Statistics(rows, length, df);
    }

    /// <summary>The text form of <see cref="Bm25Shared.Param"/>: <c>rows;length;term:df,term:df</c>, invariant, the
    /// length in round-trip form, terms ascending.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Rows};{TotalLength.ToString("R", CultureInfo.InvariantCulture)};");
        var first = true;
        foreach (var (term, n) in DocumentFrequencies.OrderBy(p => p.Key))
        {
            text.Append(first ? "" : ",").Append(CultureInfo.InvariantCulture, $"{term}:{n}");
            first = false;
        }

        return text.ToString();
    }

    /// <summary>Reads <see cref="Format"/>'s text; anything else is InvalidArgument naming <see cref="Bm25Shared.Param"/>
    /// and what is wrong (rows below 0, a length that is negative or not finite, a df outside [0, rows], a term twice).</summary>
    public static Bm25Statistics Parse(string text)
    {
        var parts = text.Split(';');
        if (parts.Length != 3
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rows)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var length))
        {
            throw Bad("expected 'rows;length;term:df,...'");
        }

        if (!double.IsFinite(length) || length < 0)
        {
            throw Bad($"the summed length must be a finite number of at least 0, got {parts[1]}");
        }

        var df = new Dictionary<uint, long>();
        foreach (var pair in parts[2].Length == 0 ? [] : parts[2].Split(','))
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0
                || !uint.TryParse(pair.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var term)
                || !long.TryParse(pair.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                throw Bad($"'{pair}' is not 'term:df'");
            }

            if (n > rows)
            {
                throw Bad($"term {term} is in {n} rows of {rows}");
            }

            if (!df.TryAdd(term, n))
            {
                throw Bad($"term {term} is given twice");
            }
        }

        return new Bm25Statistics(rows, length, df);
    }

    private static QuiverException Bad(string what) =>
        new(QuiverErrorCode.InvalidArgument, $"search params: '{Bm25Shared.Param}' (collection-wide BM25 statistics): {what}");
}

/// <summary>Collection-wide BM25 statistics over several engines (docs/cluster.md, "BM25 on several shards"): a
/// search's own statistics (<see cref="Of"/>) and a search scored with supplied ones (<see cref="Supplied"/>).</summary>
internal static class Bm25Shared
{
    /// <summary>The search parameter carrying the statistics to score with (<see cref="Bm25Statistics.Format"/>). An engine
    /// takes it only when opened with <see cref="QuiverOptions.SharedBm25Statistics"/> (a cluster's shard or replica,
    /// reached only by its node); any other engine drops it unread, as Milvus ignores search keys it does not know.</summary>
    public const string Param = SearchRequest.Bm25StatisticsParam;

    /// <summary>The statistics <paramref name="request"/> (a search of a BM25 output field by texts) would score with on
    /// this engine: over the rows of the partitions it reads (its partitions, narrowed by a partition-key filter as the
    /// search narrows them), for the terms of all its texts. The filter restricts the rows a search scores, never its
    /// statistics, so it plays no other part. Refusals are the search's own (no such field, not a BM25 output, no texts).</summary>
    public static Bm25Statistics Of(Shard shard, SearchRequest request, CancellationToken cancellationToken)
    {
        var schema = shard.Schema;
        var fieldIndex = SearchExecutor.ResolveField(schema, request.AnnsField);
        var field = schema.Fields[fieldIndex];
        var function = Bm25Function.Writing(schema, field.Name);
        if (function is null)
        {
            Throw.Invalid($"search: field '{field.Name}' is not the output of a BM25 function");
        }

        var texts = Bm25Search.Queries(request, field.Name);
        var terms = TermsOf(schema, function, texts);
        var zone = Timestamptz.Resolve(request.Timezone, shard.Meta.Properties);
        var filter = shard.Plans.Filter(request.Filter, schema, request.FilterParams, zone);
        using var view = shard.AcquireView(PartitionKeys.ReadScope(shard.Meta, request.Partitions, filter));
        var corpus = Bm25Corpus.Statistics(shard, view, fieldIndex, terms, Bm25Budget.Of(shard, view, fieldIndex), cancellationToken);
        var df = new Dictionary<uint, long>(terms.Count);
        foreach (var (term, slot) in terms)
        {
            df[term] = corpus.DocumentFrequency[slot];
        }

        return new Bm25Statistics(corpus.Rows, corpus.TotalLength, df);
    }

    /// <summary>The query terms of <paramref name="texts"/> numbered in first-seen order, as a search numbers them.</summary>
    public static Dictionary<uint, int> TermsOf(CollectionSchema schema, CollectionFunction function, IReadOnlyList<string> texts)
    {
        var analyzer = Analyzer.ForField(schema.Find(function.InputFieldNames[0])!);
        var terms = new Dictionary<uint, int>();
        foreach (var text in texts)
        {
            foreach (var t in Bm25Function.Terms(analyzer, text).Indices)
            {
                terms.TryAdd(t, terms.Count);
            }
        }

        return terms;
    }

    /// <summary>Takes <see cref="Param"/> out of <paramref name="searchParams"/>: the statistics it carries when this
    /// engine scores with supplied statistics, else null (the key is dropped unread).</summary>
    public static Bm25Statistics? Take(Shard shard, ref IReadOnlyDictionary<string, string>? searchParams)
    {
        if (searchParams is null || !searchParams.TryGetValue(Param, out var text))
        {
            return null;
        }

        searchParams = Without(searchParams);
        return shard.SharedBm25Statistics ? Bm25Statistics.Parse(text) : null;
    }

    /// <summary><paramref name="searchParams"/> without <see cref="Param"/>.</summary>
    public static Dictionary<string, string> Without(IReadOnlyDictionary<string, string> searchParams)
    {
        var kept = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in searchParams)
        {
            if (name != Param)
            {
                kept[name] = value;
            }
        }

        return kept;
    }

    /// <summary>The corpus a search scores with from supplied statistics: every query term must be among them
    /// (InvalidArgument naming the first that is not).</summary>
    public static Bm25Search.Corpus Supplied(Bm25Statistics statistics, Dictionary<uint, int> terms)
    {
        var df = new long[terms.Count];
        foreach (var (term, slot) in terms)
        {
            if (!statistics.DocumentFrequencies.TryGetValue(term, out var n))
            {
                Throw.Invalid($"search params: '{Param}' (collection-wide BM25 statistics) has no document frequency for query term {term}");
            }

            df[slot] = n;
        }

        return new Bm25Search.Corpus(statistics.Rows, statistics.TotalLength, df);
    }
}
