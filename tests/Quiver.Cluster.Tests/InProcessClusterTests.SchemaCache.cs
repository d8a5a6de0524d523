using Google.Protobuf;
using Grpc.Core;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using ProtoDataType = Quiver.Protocol.Schema.DataType;
using ProtoFieldSchema = Quiver.Protocol.Schema.FieldSchema;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoSchema = Quiver.Protocol.Schema.CollectionSchema;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>The access layer's schema of a collection of several shards (<c>MilvusRouting.DescribedAsync</c>): a node
/// asks shard 0 once per revision of the collection's catalog key, not once per insert, and a field added through
/// another node is read at the next insert.</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task InsertsOnSeveralShards_AskShardZeroForTheSchemaOnce_UntilAnotherNodeChangesIt()
    {
        await using var cluster = await StartAsync();
        // A second node's access layer: its own catalog over the same bucket, so what it changes reaches the first node
        // only through NATS.
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        const string Name = "schema_cache";

        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(first, "CreateCollection", ThreeShards(Name))));

        // Three inserts of 20 rows (each split over the three shards): one schema read.
        for (var batch = 0; batch < 3; batch++)
        {
            var answer = MilvusMutation.Parser.ParseFrom(await CallAsync(first, "Insert", Rows(Name, batch * 20, 20, extra: false)));
            AssertOk(answer.Status);
            Assert.Equal(20L, answer.InsertCnt);
        }

        Assert.Equal(1, first.SchemaLookups);

        // A nullable field added through the other node; rows that carry it, inserted through the first node, keep it.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "AddCollectionField", new AddCollectionFieldRequest
        {
            CollectionName = Name,
            Schema = new ProtoFieldSchema { Name = "extra", DataType = ProtoDataType.Int64, Nullable = true }.ToByteString(),
        })));
        for (var batch = 3; batch < 5; batch++)
        {
            var answer = MilvusMutation.Parser.ParseFrom(await CallAsync(first, "Insert", Rows(Name, batch * 20, 20, extra: true)));
            AssertOk(answer.Status);
            Assert.Equal(20L, answer.InsertCnt);
        }

        Assert.Equal(2, first.SchemaLookups);

        // Every row is stored with the value it was sent with (null before the field existed), read through the first node.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(first, "LoadCollection", new LoadCollectionRequest { CollectionName = Name })));
        var rows = QueryResults.Parser.ParseFrom(await CallAsync(first, "Query", new MilvusQuery
        {
            CollectionName = Name,
            Expr = "id >= 0",
            OutputFields = { "id", "extra" },
            ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong,
        }));
        AssertOk(rows.Status);
        var ids = rows.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data;
        var extra = rows.FieldsData.Single(f => f.FieldName == "extra");
        var stored = Enumerable.Range(0, ids.Count)
            .Select(i => (Id: (long)ids[i], Extra: extra.ValidData.Count > 0 && !extra.ValidData[i] ? (long?)null : extra.Scalars.LongData.Data[ExtraIndex(extra, i)]))
            .OrderBy(r => r.Id)
            .ToList();
        var sent = Enumerable.Range(0, 100).Select(id => (Id: (long)id, Extra: id >= 60 ? (long?)(id * 7L) : null)).ToList();
        Assert.Equal(sent, stored);
    }

    /// <summary>The index of row <paramref name="row"/>'s value in a nullable column: Milvus's answers carry either one
    /// value per row or values for the valid rows only.</summary>
    private static int ExtraIndex(FieldData column, int row) =>
        column.Scalars.LongData.Data.Count == column.ValidData.Count || column.ValidData.Count == 0 ? row : column.ValidData.Take(row).Count(v => v);

    /// <summary>The create of <paramref name="name"/> in three shards: an Int64 key and a 2-d float vector.</summary>
    private static CreateCollectionRequest ThreeShards(string name) => new()
    {
        CollectionName = name,
        ShardsNum = 3,
        Schema = new ProtoSchema
        {
            Name = name,
            Fields =
            {
                new ProtoFieldSchema { Name = "id", DataType = ProtoDataType.Int64, IsPrimaryKey = true },
                new ProtoFieldSchema { Name = "vector", DataType = ProtoDataType.FloatVector, TypeParams = { new ProtoKeyValuePair { Key = "dim", Value = "2" } } },
            },
        }.ToByteString(),
    };

    private static InsertRequest Rows(string collection, int first, int count, bool extra)
    {
        var insert = new InsertRequest { CollectionName = collection, NumRows = (uint)count };
        var ids = new LongArray();
        var vectors = new FloatArray();
        var values = new LongArray();
        foreach (var id in Enumerable.Range(first, count))
        {
            ids.Data.Add(id);
            vectors.Data.Add([(float)Math.Sin(id), (float)Math.Cos(id)]);
            values.Data.Add(id * 7L);
        }

        insert.FieldsData.Add(new FieldData { FieldName = "id", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = ids } });
        insert.FieldsData.Add(new FieldData { FieldName = "vector", Type = ProtoDataType.FloatVector, Vectors = new VectorField { Dim = 2, FloatVector = vectors } });
        if (extra)
        {
            var column = new FieldData { FieldName = "extra", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = values } };
            column.ValidData.AddRange(Enumerable.Repeat(true, count));
            insert.FieldsData.Add(column);
        }

        return insert;
    }

    private static void AssertOk(ProtoStatus? status) => Assert.True(status is null || status.Code == 0, $"code {status?.Code}: {status?.Reason}");

    /// <summary>One call of <paramref name="rpc"/> through <paramref name="routing"/>, past the gate (as a node routes a
    /// call its gate passed).</summary>
    private static Task<byte[]> CallAsync(MilvusRouting routing, string rpc, IMessage request) =>
        routing.RouteAsync(MilvusService.Descriptor.FindMethodByName(rpc), request.ToByteArray(), new TestCallContext(rpc));

    /// <summary>A gRPC call's context with no headers and no deadline.</summary>
    private sealed class TestCallContext(string rpc) : ServerCallContext
    {
        private readonly Metadata _headers = [];
        private readonly Metadata _trailers = [];

        protected override string MethodCore => "/milvus.proto.milvus.MilvusService/" + rpc;

        protected override string HostCore => "127.0.0.1";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore => _headers;

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore => _trailers;

        protected override Grpc.Core.Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
