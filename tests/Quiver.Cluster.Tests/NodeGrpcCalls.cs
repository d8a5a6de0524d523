using Google.Protobuf;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using ProtoDataType = Quiver.Protocol.Schema.DataType;
using ProtoFieldSchema = Quiver.Protocol.Schema.FieldSchema;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Cluster.Tests;

/// <summary>The raw Milvus gRPC calls the node-process tests make (<see cref="NodeListenerTests"/>,
/// <see cref="ClusterStatusTests"/>): collection <c>items</c> with an Int64 key <c>id</c> and a 4-dimensional vector,
/// row i's vector <see cref="Vector"/>.</summary>
internal static class NodeGrpcCalls
{
    public const int Dim = 4;

    /// <summary>Row <paramref name="id"/>'s vector: each row its own nearest (L2).</summary>
    public static float[] Vector(int id) => [id, id * 0.5f, -id, 1];

    /// <summary>Creates <c>items</c> in <paramref name="shards"/> shards, inserts rows 0 to <paramref name="rows"/> - 1,
    /// indexes it FLAT in L2 and loads it with <paramref name="replicas"/> replicas, waiting until it is loaded (a
    /// condition, with <paramref name="timeout"/> as a safety net; no time is asserted).</summary>
    public static async Task CreateFilledLoadedAsync(MilvusService.MilvusServiceClient client, int shards, int rows, int replicas, TimeSpan timeout)
    {
        Ok(await client.CreateCollectionAsync(new CreateCollectionRequest
        {
            CollectionName = "items",
            ShardsNum = shards,
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
        var insert = await client.InsertAsync(Insert(0, rows));
        Ok(insert.Status, "insert");
        Assert.Equal(rows, insert.InsertCnt);
        Ok(await client.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = "items",
            FieldName = "vector",
            ExtraParams = { new ProtoKeyValuePair { Key = "index_type", Value = "FLAT" }, new ProtoKeyValuePair { Key = "metric_type", Value = "L2" } },
        }), "index");
        Ok(await client.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "items", ReplicaNumber = replicas }), "load");
        using var loading = new CancellationTokenSource(timeout);
        while ((await client.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "items" }, cancellationToken: loading.Token)).State != LoadState.Loaded)
        {
            await Task.Delay(200, loading.Token);
        }
    }

    /// <summary>Rows <paramref name="from"/> to <paramref name="from"/> + <paramref name="rows"/> - 1 of <c>items</c>.</summary>
    public static InsertRequest Insert(int from, int rows)
    {
        var ids = new LongArray();
        var vectors = new FloatArray();
        for (var id = from; id < from + rows; id++)
        {
            ids.Data.Add(id);
            vectors.Data.Add(Vector(id));
        }

        return new InsertRequest
        {
            CollectionName = "items",
            NumRows = (uint)rows,
            FieldsData =
            {
                new FieldData { FieldName = "id", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = ids } },
                new FieldData { FieldName = "vector", Type = ProtoDataType.FloatVector, Vectors = new VectorField { Dim = Dim, FloatVector = vectors } },
            },
        };
    }

    /// <summary>A Strong <c>count(*)</c> of <c>items</c>.</summary>
    public static async Task<long> CountAsync(MilvusService.MilvusServiceClient client)
    {
        var count = await client.QueryAsync(new Quiver.Protocol.Milvus.QueryRequest { CollectionName = "items", OutputFields = { "count(*)" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong, UseDefaultConsistency = false });
        Ok(count.Status, "count");
        return count.FieldsData[0].Scalars.LongData.Data[0];
    }

    public static void Ok(Status status, string what) =>
        Assert.True(status is null or { Code: 0 }, $"{what}: code {status?.Code} {status?.Reason}");
}
