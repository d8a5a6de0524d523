using Google.Protobuf;
using Grpc.Net.Client;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Clients;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using MilvusSearch = Quiver.Protocol.Milvus.SearchRequest;
using ProtoDataType = Quiver.Protocol.Schema.DataType;
using ProtoFieldSchema = Quiver.Protocol.Schema.FieldSchema;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Cluster.Tests;

/// <summary>A node serves its shards' and replicas' engines in its own process without a listener each
/// (src/Quiver.Cluster/Nodes/ShardServer.cs): before session 33 every shard grain and every replica grain started a
/// Quiver server on a loopback port of its own.</summary>
public sealed class NodeListenerTests
{
    private const int Dim = 4;
    private const int Rows = 30;

    /// <summary>Two nodes, a collection of three shards loaded with two replicas: each node listens on the same ports
    /// after the create, the inserts, the load and the reads as before them (its Milvus port and its silo port), while
    /// the shards (and the catalog's shard) are active on the nodes and the replicas answer: a Strong count equal to the
    /// rows sent and each row's own vector finding the row first (FLAT, exact).</summary>
    [NatsFact]
    public async Task ShardsAndReplicas_ListenOnNoPortOfTheirOwn_AndAnswer()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 2);
        var before = new[] { nodes.ListeningPorts(0), nodes.ListeningPorts(1) };
        for (var i = 0; i < 2; i++)
        {
            // The count is of the right process: its own Milvus port is among them.
            Assert.Contains(new Uri(nodes.Address(i)).Port, before[i]);
        }

        using var channel = GrpcChannel.ForAddress(nodes.Address(0));
        var client = new MilvusService.MilvusServiceClient(channel);
        Ok(await client.CreateCollectionAsync(new CreateCollectionRequest
        {
            CollectionName = "items",
            ShardsNum = 3,
            Schema = new ProtoSchema
            {
                Name = "items",
                Fields =
                {
                    new ProtoFieldSchema { Name = "id", DataType = ProtoDataType.Int64, IsPrimaryKey = true },
                    new ProtoFieldSchema { Name = "vector", DataType = ProtoDataType.FloatVector, TypeParams = { new ProtoKeyValuePair { Key = "dim", Value = $"{Dim}" } } },
                },
            }.ToByteString(),
        }), "create");
        var insert = await client.InsertAsync(Insert());
        Ok(insert.Status, "insert");
        Assert.Equal(Rows, insert.InsertCnt);
        Ok(await client.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = "items",
            FieldName = "vector",
            ExtraParams = { new ProtoKeyValuePair { Key = "index_type", Value = "FLAT" }, new ProtoKeyValuePair { Key = "metric_type", Value = "L2" } },
        }), "index");
        Ok(await client.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "items", ReplicaNumber = 2 }), "load");
        // Until loaded (a condition, with a generous safety net; no time is asserted).
        using (var loading = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            while ((await client.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "items" }, cancellationToken: loading.Token)).State != LoadState.Loaded)
            {
                await Task.Delay(200, loading.Token);
            }
        }

        var replicas = await client.GetReplicasAsync(new GetReplicasRequest { CollectionName = "items" });
        Ok(replicas.Status, "replicas");
        Assert.Equal(2, replicas.Replicas.Count);

        var count = await client.QueryAsync(new MilvusQuery { CollectionName = "items", OutputFields = { "count(*)" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong, UseDefaultConsistency = false });
        Ok(count.Status, "count");
        Assert.Equal(Rows, count.FieldsData[0].Scalars.LongData.Data[0]);
        foreach (var id in new[] { 0, 13, 29 })
        {
            var found = await client.SearchAsync(new MilvusSearch
            {
                CollectionName = "items",
                Nq = 1,
                DslType = DslType.BoolExprV1,
                PlaceholderGroup = MilvusRequests.FloatPlaceholderGroup(Vector(id), Dim),
                ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong,
                UseDefaultConsistency = false,
                SearchParams =
                {
                    new ProtoKeyValuePair { Key = "anns_field", Value = "vector" },
                    new ProtoKeyValuePair { Key = "topk", Value = "1" },
                    new ProtoKeyValuePair { Key = "metric_type", Value = "L2" },
                    new ProtoKeyValuePair { Key = "params", Value = "{}" },
                },
            });
            Ok(found.Status, $"search {id}");
            Assert.Equal(id, found.Results.Ids.IntId.Data[0]);
        }

        // Every shard was opened on some node (each node's log names the shards active there).
        foreach (var shard in new[] { "default/items", "default/items/1", "default/items/2" })
        {
            Assert.True(nodes.HostOf(shard) is not null, $"no node says it activated shard {shard}");
        }

        var after = new[] { nodes.ListeningPorts(0), nodes.ListeningPorts(1) };
        Assert.Equal(before[0], after[0]);
        Assert.Equal(before[1], after[1]);
    }

    private static void Ok(Status status, string what) =>
        Assert.True(status is null or { Code: 0 }, $"{what}: code {status?.Code} {status?.Reason}");

    private static float[] Vector(int id) => [id, id * 0.5f, -id, 1];

    private static InsertRequest Insert()
    {
        var ids = new LongArray();
        var vectors = new FloatArray();
        for (var id = 0; id < Rows; id++)
        {
            ids.Data.Add(id);
            vectors.Data.Add(Vector(id));
        }

        return new InsertRequest
        {
            CollectionName = "items",
            NumRows = Rows,
            FieldsData =
            {
                new FieldData { FieldName = "id", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = ids } },
                new FieldData { FieldName = "vector", Type = ProtoDataType.FloatVector, Vectors = new VectorField { Dim = Dim, FloatVector = vectors } },
            },
        };
    }
}
