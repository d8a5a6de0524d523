using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Clients;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusSearch = Quiver.Protocol.Milvus.SearchRequest;
using ProtoDataType = Quiver.Protocol.Schema.DataType;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>The metric a search naming none is merged in on a collection of several shards (<c>MilvusRouting.IndexMetricAsync</c>):
/// kept per revision of the collection's catalog key, so shard 0 is asked once, not at every search, and an index
/// changed, or a collection dropped and created again, through another node is merged in its new metric at the next
/// search. Neither node's catalog watches the bucket here, so nothing reaches the first node but what it reads (a cache
/// of the revision the watch delivers would merge in the old metric for good); oracle:
/// the exact top-k over the rows sent, in the index's metric.</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task ASearchNamingNoMetric_AsksShardZeroOncePerRevision_AndMergesInAnIndexChangedThroughAnotherNode()
    {
        await using var cluster = await StartAsync();
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        const string Name = "index_metric";
        var probe = new[] { 0.3f, -0.8f };
        var vectors = Enumerable.Range(0, 60).Select(Vector).ToList();
        var byIp = TopK(vectors, probe, MetricType.IP);
        var byL2 = TopK(vectors, probe, MetricType.L2);
        Assert.NotEqual(byIp, byL2);

        // Created, filled and indexed in IP through the first node; two searches naming no metric: one lookup.
        await CreateIndexedAsync(first, Name, vectors, "IP");
        Assert.Equal(byIp, await SearchIdsAsync(first, Name, probe));
        Assert.Equal(byIp, await SearchIdsAsync(first, Name, probe));
        Assert.Equal(1, first.IndexMetricLookups);

        // The index dropped and made again in L2 through the other node: the first node's next search merges in L2.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "ReleaseCollection", new ReleaseCollectionRequest { CollectionName = Name })));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropIndex", new DropIndexRequest { CollectionName = Name, FieldName = "vector" })));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "CreateIndex", FlatIndex(Name, "L2"))));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "LoadCollection", new LoadCollectionRequest { CollectionName = Name })));
        Assert.Equal(byL2, await SearchIdsAsync(first, Name, probe));
        Assert.Equal(byL2, await SearchIdsAsync(first, Name, probe));
        Assert.Equal(2, first.IndexMetricLookups);

        // The collection dropped and created again with an IP index through the other node: IP again at the next search.
        // The first node's catalog is told of the new collection as its watch would tell it (reads route by the entry a
        // node remembers, which this test's catalogs keep without a watch): the metric kept for the dropped collection
        // is not used for the new one.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropCollection", new DropCollectionRequest { CollectionName = Name })));
        await CreateIndexedAsync(second, Name, vectors, "IP");
        Assert.NotEqual(Name, (await _context!.Catalog.EntryAsync("default", Name, CancellationToken.None, fresh: true)).Id);
        Assert.Equal(byIp, await SearchIdsAsync(first, Name, probe));
        Assert.Equal(3, first.IndexMetricLookups);
    }

    /// <summary>Row <paramref name="id"/>'s vector: directions and lengths both vary, so IP and L2 rank rows apart.</summary>
    private static float[] Vector(int id) => [(1 + (id % 5) * 0.37f) * MathF.Sin(id), (1 + (id % 5) * 0.37f) * MathF.Cos(id)];

    /// <summary>The ids of the ten rows nearest <paramref name="probe"/> in <paramref name="metric"/> (IP: largest product
    /// first; L2: smallest distance first), checked to have no near-tie at the tenth place.</summary>
    private static List<long> TopK(List<float[]> vectors, float[] probe, MetricType metric)
    {
        var scored = vectors.Select((v, id) => (Id: (long)id, Score: metric == MetricType.IP
                ? -(v[0] * probe[0] + v[1] * probe[1])
                : (v[0] - probe[0]) * (v[0] - probe[0]) + (v[1] - probe[1]) * (v[1] - probe[1])))
            .OrderBy(r => r.Score)
            .ToList();
        Assert.True(scored[10].Score - scored[9].Score > 1e-3f, "the data has a near-tie at the tenth place");
        return [.. scored.Take(10).Select(r => r.Id)];
    }

    /// <summary>Creates <paramref name="name"/> in three shards through <paramref name="routing"/>, inserts
    /// <paramref name="vectors"/> (row i has key i), indexes it FLAT in <paramref name="metric"/> and loads it.</summary>
    private static async Task CreateIndexedAsync(MilvusRouting routing, string name, List<float[]> vectors, string metric)
    {
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", ThreeShards(name))));
        var insert = new InsertRequest { CollectionName = name, NumRows = (uint)vectors.Count };
        var ids = new LongArray();
        var floats = new FloatArray();
        for (var id = 0; id < vectors.Count; id++)
        {
            ids.Data.Add(id);
            floats.Data.Add(vectors[id]);
        }

        insert.FieldsData.Add(new FieldData { FieldName = "id", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = ids } });
        insert.FieldsData.Add(new FieldData { FieldName = "vector", Type = ProtoDataType.FloatVector, Vectors = new VectorField { Dim = 2, FloatVector = floats } });
        AssertOk(MilvusMutation.Parser.ParseFrom(await CallAsync(routing, "Insert", insert)).Status);
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateIndex", FlatIndex(name, metric))));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "LoadCollection", new LoadCollectionRequest { CollectionName = name })));
    }

    /// <summary>The ids a strong search of the ten nearest to <paramref name="probe"/>, naming no metric, answers in order.</summary>
    private static async Task<List<long>> SearchIdsAsync(MilvusRouting routing, string name, float[] probe)
    {
        var answer = SearchResults.Parser.ParseFrom(await CallAsync(routing, "Search", new MilvusSearch
        {
            CollectionName = name,
            Nq = 1,
            DslType = Quiver.Protocol.Common.DslType.BoolExprV1,
            PlaceholderGroup = MilvusRequests.FloatPlaceholderGroup(probe, 2),
            SearchParams =
            {
                new ProtoKeyValuePair { Key = "anns_field", Value = "vector" },
                new ProtoKeyValuePair { Key = "topk", Value = "10" },
                new ProtoKeyValuePair { Key = "params", Value = "{}" },
            },
            ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong,
        }));
        AssertOk(answer.Status);
        return [.. answer.Results.Ids.IntId.Data];
    }

    /// <summary>A FLAT index in <paramref name="metric"/> on <paramref name="collection"/>'s <c>vector</c> field.</summary>
    private static CreateIndexRequest FlatIndex(string collection, string metric) => new()
    {
        CollectionName = collection,
        FieldName = "vector",
        ExtraParams = { new ProtoKeyValuePair { Key = "index_type", Value = "FLAT" }, new ProtoKeyValuePair { Key = "metric_type", Value = metric } },
    };
}
