using System.Text.Json;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Wire;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Client.Remote;

internal sealed partial class RemoteQuiverClient
{
    /// <summary>HybridSearch as Milvus's SDKs send it: each request a SearchRequest of its own (placeholders of its field's
    /// type, its filter and limit), the fusion in <c>rank_params</c> (<c>strategy</c> rrf with <c>{"k": …}</c> or
    /// weighted with <c>{"weights": […], "norm_score": …}</c>, <c>limit</c>, <c>offset</c>, <c>round_decimal</c>, and
    /// <c>group_by_field</c> / <c>group_size</c>, <c>timezone</c>).</summary>
    public async Task<SearchResult> HybridSearchAsync(string collection, HybridRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Requests is not { Count: > 0 } subs)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, "hybrid search: give at least one search request");
        }

        var cached = await SchemaAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var message = new HybridSearchRequest
        {
            DbName = Db(database),
            CollectionName = collection,
            ConsistencyLevel = ToMilvus(request.Consistency),
        };
        message.Requests.Add(subs.Select(sub => ToMilvus(collection, sub, cached, database)));
        message.OutputFields.Add(request.OutputFields);
        message.PartitionNames.Add(request.Partitions);
        var (strategy, parameters) = request.Ranker switch
        {
            RrfRanker rrf => ("rrf", JsonSerializer.Serialize(new Dictionary<string, object> { ["k"] = rrf.K })),
            WeightedRanker w => ("weighted", JsonSerializer.Serialize(new Dictionary<string, object> { ["weights"] = w.Weights, ["norm_score"] = w.NormalizeScores })),
            _ => throw new QuiverException(QuiverErrorCode.InvalidArgument, $"hybrid search: ranker {request.Ranker.GetType().Name} is not rrf or weighted"),
        };
        message.RankParams.Add(new KeyValuePair { Key = "strategy", Value = strategy });
        message.RankParams.Add(new KeyValuePair { Key = "params", Value = parameters });
        message.RankParams.Add(Pair("limit", request.Limit));
        message.RankParams.Add(Pair("offset", request.Offset));
        message.RankParams.Add(new KeyValuePair { Key = "round_decimal", Value = "-1" });
        if (request.GroupByField is { } groupBy)
        {
            message.RankParams.Add(new KeyValuePair { Key = "group_by_field", Value = groupBy });
            message.RankParams.Add(Pair("group_size", request.GroupSize));
        }

        // Milvus reads a hybrid search's timezone from rank_params (its search task's own parameters).
        if (request.Timezone is { } timezone)
        {
            message.RankParams.Add(new KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = timezone });
        }

        var r = await InvokeAsync("HybridSearch", o => _milvus.HybridSearchAsync(message, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return SearchResultCodec.Read(r.Results, QueryCount(subs[0]));
    }

    /// <summary>AddCollectionField: the field's schema message (nullable, or with a default: the server refuses others as
    /// Milvus does); the cached schema is dropped so the next call sees the field.</summary>
    public async Task AddCollectionFieldAsync(string collection, FieldSchema field, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(field);
        var request = new AddCollectionFieldRequest
        {
            DbName = Db(database),
            CollectionName = collection,
            Schema = SchemaConverter.ToMilvus(field, 0).ToByteString(),
        };
        _schemas.TryRemove(CacheKey(database, collection), out _);
        await InvokeAsync("AddCollectionField", o => _milvus.AddCollectionFieldAsync(request, o), cancellationToken).ConfigureAwait(false);
        _schemas.TryRemove(CacheKey(database, collection), out _);
    }
}
