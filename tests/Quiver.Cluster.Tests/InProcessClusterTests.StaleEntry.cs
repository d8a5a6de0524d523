using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using ProtoDataType = Quiver.Protocol.Schema.DataType;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>A read routed by the catalog entry a node remembers, after its collection was dropped and created again
/// through another node (<c>MilvusRouting.RouteAsync</c>): the remembered entry names the dropped collection's storage,
/// whose shards answer "does not exist"; the node reads the entry fresh once and routes the read again by it. The first
/// node's catalog never watches the bucket here (a watch held for good), so nothing reaches it but what it reads; oracle:
/// the rows sent to the new collection, exactly.</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task AReadByARememberedEntry_AfterADropAndCreateThroughAnotherNode_IsAnsweredByTheNewCollection()
    {
        await using var cluster = await StartAsync();
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        var retries = 0;
        foreach (var shards in new[] { 1, 3 })
        {
            var name = $"recreated_{shards}";
            var old = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
            await CreateFilledAsync(first, name, shards, old);
            Assert.Equal(old, await IdsAsync(first, name));
            var remembered = (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id;

            // Dropped and created again through the other node, with other rows: the first node still remembers the
            // dropped collection's entry (its storage id), as it would until its watch delivered the change.
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropCollection", new DropCollectionRequest { CollectionName = name })));
            var fresh = Enumerable.Range(100, 20).Select(i => (long)i).ToArray();
            await CreateFilledAsync(second, name, shards, fresh);
            Assert.Equal(remembered, (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id);

            // The first node's reads answer the new collection: its rows, its count, and that it exists.
            Assert.Equal(fresh, await IdsAsync(first, name));
            Assert.Equal(++retries, first.StaleEntryRetries);
            Assert.NotEqual(remembered, (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id);
            var count = QueryResults.Parser.ParseFrom(await CallAsync(first, "Query", StrongQuery(name, "", "count(*)")));
            AssertOk(count.Status);
            Assert.Equal(fresh.Length, count.FieldsData[0].Scalars.LongData.Data[0]);
            var has = BoolResponse.Parser.ParseFrom(await CallAsync(first, "HasCollection", new HasCollectionRequest { CollectionName = name }));
            AssertOk(has.Status);
            Assert.True(has.Value);
            // Routed by the current entry from then on: no more retries.
            Assert.Equal(retries, first.StaleEntryRetries);
        }

        // A collection that is not there at all is still answered "does not exist", without a retry.
        var missing = QueryResults.Parser.ParseFrom(await CallAsync(first, "Query", StrongQuery("never_created", "id >= 0", "id")));
        Assert.Equal(100, missing.Status.Code);
        Assert.Equal(retries, first.StaleEntryRetries);
    }

    /// <summary>Creates <paramref name="name"/> in <paramref name="shards"/> shards through <paramref name="routing"/>,
    /// inserts a row per key of <paramref name="ids"/>, indexes it FLAT in L2 and loads it.</summary>
    private static async Task CreateFilledAsync(MilvusRouting routing, string name, int shards, long[] ids)
    {
        var create = ThreeShards(name);
        create.ShardsNum = shards;
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", create)));
        var insert = new InsertRequest { CollectionName = name, NumRows = (uint)ids.Length };
        var keys = new LongArray();
        var floats = new FloatArray();
        foreach (var id in ids)
        {
            keys.Data.Add(id);
            floats.Data.Add(Vector((int)id));
        }

        insert.FieldsData.Add(new FieldData { FieldName = "id", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = keys } });
        insert.FieldsData.Add(new FieldData { FieldName = "vector", Type = ProtoDataType.FloatVector, Vectors = new VectorField { Dim = 2, FloatVector = floats } });
        AssertOk(MilvusMutation.Parser.ParseFrom(await CallAsync(routing, "Insert", insert)).Status);
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateIndex", FlatIndex(name, "L2"))));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "LoadCollection", new LoadCollectionRequest { CollectionName = name })));
    }

    /// <summary>Every key of <paramref name="name"/>, by a strong query through <paramref name="routing"/>, in order.</summary>
    private static async Task<long[]> IdsAsync(MilvusRouting routing, string name)
    {
        var answer = QueryResults.Parser.ParseFrom(await CallAsync(routing, "Query", StrongQuery(name, "id >= 0", "id")));
        AssertOk(answer.Status);
        return [.. answer.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order()];
    }

    private static MilvusQuery StrongQuery(string name, string expr, string output) => new()
    {
        CollectionName = name,
        Expr = expr,
        OutputFields = { output },
        ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong,
        UseDefaultConsistency = false,
    };
}
