using Grpc.Net.Client;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;
using MilvusSearch = Quiver.Protocol.Milvus.SearchRequest;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Cluster.Tests;

/// <summary>A node serves its shards' and replicas' engines in its own process without a listener each
/// (src/Quiver.Cluster/Nodes/ShardServer.cs): before session 33 every shard grain and every replica grain started a
/// Quiver server on a loopback port of its own.</summary>
public sealed class NodeListenerTests
{
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
        await NodeGrpcCalls.CreateFilledLoadedAsync(client, shards: 3, Rows, replicas: 2, TimeSpan.FromMinutes(5));

        var replicas = await client.GetReplicasAsync(new GetReplicasRequest { CollectionName = "items" });
        NodeGrpcCalls.Ok(replicas.Status, "replicas");
        Assert.Equal(2, replicas.Replicas.Count);

        Assert.Equal(Rows, await NodeGrpcCalls.CountAsync(client));
        foreach (var id in new[] { 0, 13, 29 })
        {
            var found = await client.SearchAsync(new MilvusSearch
            {
                CollectionName = "items",
                Nq = 1,
                DslType = DslType.BoolExprV1,
                PlaceholderGroup = MilvusRequests.FloatPlaceholderGroup(NodeGrpcCalls.Vector(id), NodeGrpcCalls.Dim),
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
            NodeGrpcCalls.Ok(found.Status, $"search {id}");
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
}
