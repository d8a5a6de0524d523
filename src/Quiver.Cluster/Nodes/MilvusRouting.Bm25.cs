using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus.Data;
using Quiver.Sparse;
using MilvusSearch = global::Quiver.Protocol.Milvus.SearchRequest;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>A BM25 search (texts on a BM25 function's output field) on a collection with several shards, scored as one
/// engine holding every row scores it. BM25 scores a row with the corpus's statistics: the rows N, their mean length
/// avgdl and each query term's document frequency df, which differ from shard to shard. Round 1 asks every shard for its
/// statistics of the search's terms over the partitions it reads (<see cref="ShardBm25.Method"/>); their sums are the
/// collection's (N and Σ|d| add up, and so does each df: a row is on one shard). Round 2 is the search itself with the
/// sums in <c>quiver_bm25_statistics</c>: each shard scores its rows with them, so a row's score is the single engine's
/// bit for bit, and the shards' answers merge like any search's. Both rounds read the same replica when the collection
/// has replicas. A write applied between the rounds is scored with statistics that do not count it yet.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary><paramref name="parsed"/> with the collection-wide statistics of its texts, or, as <c>Answer</c>, the
    /// refusal to send instead: the shards' own refusal of the search, word for word, when one of them cannot report
    /// statistics for it (not loaded, no texts, a bad filter).</summary>
    private async Task<(MilvusSearch? Scored, byte[]? Answer)> WithBm25StatisticsAsync(MethodDescriptor method, MilvusSearch parsed, string database,
        string collection, int shards, FieldSchema field, CancellationToken ct)
    {
        var ask = parsed.Clone();
        ask.DbName = database;
        var pairs = Window(ask.SearchParams, "anns_field", field.Name, ["anns_field", SearchParamsParser.Bm25StatisticsKey]);
        ask.SearchParams.Clear();
        ask.SearchParams.AddRange(pairs);
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => ReadShardAsync(database, collection, s, method, ask.ToByteArray(), ct, ShardBm25.Method))).ConfigureAwait(false);
        var parts = answers.Select(a => IsOk(SearchResults.Parser.ParseFrom(a).Status) ? ShardBm25.Read(a) : null).ToList();
        if (parts.Any(p => p is null))
        {
            // The search as sent answers the refusal the standalone server gives.
            var plain = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => ReadShardAsync(database, collection, s, method, parsed.ToByteArray(), ct))).ConfigureAwait(false);
            return (null, plain.FirstOrDefault(a => !IsOk(SearchResults.Parser.ParseFrom(a).Status)) ?? answers[parts.FindIndex(p => p is null)]);
        }

        var scored = parsed.Clone();
        var withSums = Window(scored.SearchParams, SearchParamsParser.Bm25StatisticsKey, Bm25Statistics.Sum(parts!).Format(), [SearchParamsParser.Bm25StatisticsKey]);
        scored.SearchParams.Clear();
        scored.SearchParams.AddRange(withSums);
        return (scored, null);
    }

    /// <summary>The metric a search of <paramref name="field"/> scores in when the request names none: BM25 for a BM25
    /// function's output (the engine sets it so; the schema a shard describes does not say it), else the field's index's
    /// on shard 0, else the field's own. A weighted hybrid search normalizes each request's scores by it.</summary>
    private async Task<MetricType> FieldMetricAsync(string database, string collection, EngineSchema schema, FieldSchema field, CancellationToken ct) =>
        schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25 && f.OutputFieldNames.Contains(field.Name)) ? MetricType.BM25
        : field.MetricFromIndex ? await IndexMetricAsync(database, collection, field, ct).ConfigureAwait(false)
        : field.Metric;
}
