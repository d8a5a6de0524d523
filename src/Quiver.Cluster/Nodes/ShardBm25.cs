using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;
using Quiver.Sparse;
using MilvusSearch = global::Quiver.Protocol.Milvus.SearchRequest;
using ProtoStatus = global::Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Nodes;

/// <summary>BM25 on a collection with several shards (docs/cluster.md, "BM25 on several shards"), the shard's half: a
/// shard or replica answers <see cref="Method"/>, a Milvus <c>Search</c> request on a BM25 output field whose statistics
/// it reports instead of searching (rows, summed length, and the document frequency of each query term, over the
/// partitions the search reads), and its engine, opened with <see cref="QuiverOptions.SharedBm25Statistics"/>, scores a
/// search with the collection-wide sums the node sends in <see cref="SearchParamsParser.Bm25StatisticsKey"/>.</summary>
internal static class ShardBm25
{
    /// <summary>The call name (not a Milvus method) a node sends to a shard or replica grain for its statistics.</summary>
    public const string Method = "QuiverBm25Statistics";

    /// <summary>The key of the statistics (<see cref="Bm25Statistics.Format"/>) in the answer's status <c>extra_info</c>.</summary>
    public const string Key = SearchParamsParser.Bm25StatisticsKey;

    /// <summary>The answer to <see cref="Method"/>: a <c>SearchResults</c> whose status carries the statistics of
    /// <paramref name="request"/> on <paramref name="server"/>'s engine, or the refusal (not loaded, no such field,
    /// not a BM25 output) in its status.</summary>
    public static MilvusReply Answer(QuiverServer server, byte[] request, string database)
    {
        var answer = new SearchResults { Status = new ProtoStatus() };
        try
        {
            var parsed = MilvusSearch.Parser.ParseFrom(request);
            var db = parsed.DbName is { Length: > 0 } named ? named : database;
            var engine = server.Engine;
            var schema = engine.GetCollection(parsed.CollectionName, db).Schema;
            var partitions = server.Services.GetRequiredService<LoadStates>()
                .EnsureLoaded(db, parsed.CollectionName, parsed.PartitionNames.Count > 0 ? [.. parsed.PartitionNames] : null);
            var settings = SearchParamsParser.ParseUncached(parsed.SearchParams);
            var field = (settings.AnnsField is { } name ? schema.Find(name) : null)
                ?? throw new MilvusException(MilvusCode.ParameterInvalid, $"{Method}: the request names no BM25 output field");
            var statistics = engine.Bm25Statistics(parsed.CollectionName, new SearchRequest
            {
                Vectors = [],
                QueryTexts = Bm25Queries.Of(parsed, field),
                AnnsField = field.Name,
                Filter = parsed.Dsl,
                FilterParams = RequestValues.Templates(parsed.ExprTemplateValues),
                Partitions = partitions ?? [],
                Timezone = settings.Timezone,
            }, db);
            answer.Status.ExtraInfo[Key] = statistics.Format();
        }
        catch (Exception ex) when (ex is MilvusException or QuiverException or FilterException or InvalidProtocolBufferException)
        {
            answer.Status = MilvusStatus.FromException(ex);
        }

        return new MilvusReply(0, "", answer.ToByteArray());
    }

    /// <summary>The statistics in a shard's answer to <see cref="Method"/>, or null when it refused.</summary>
    public static Bm25Statistics? Read(byte[] answer)
    {
        var status = SearchResults.Parser.ParseFrom(answer).Status;
        return status is { Code: 0 } && status.ExtraInfo.TryGetValue(Key, out var text) ? Bm25Statistics.Parse(text) : null;
    }
}
