using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>The in-process tier's cases of grains that move: a silo of the three stops, and the shard grain or replica
/// grain it held activates on a live silo at the next call. The oracles: the keys the test wrote (the moved shard opened
/// the same storage and replayed its log), and the placement rule (a replica never on a silo another replica of its shard
/// occupies). Which silo holds a grain is read from Orleans's management grain, not from our own records.</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task AShardWhoseSiloStops_ActivatesOnALiveSilo_AndReplaysEveryRowFromItsLog()
    {
        using var data = new TempFolder("quiver-inproc-move");
        await using var cluster = await StartAsync(data.Path);
        // A shard on a silo other than the primary (which holds the test cluster's membership and must not stop).
        var (key, before) = await ShardOffPrimaryAsync(cluster, "moving");
        var shard = cluster.Client.GetGrain<IShardGrain>(key);
        var name = key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var oracle = new SortedSet<long>();
        await InsertAsync(shard, name, oracle, 0, 40);
        await RestAsync(shard, "/collections/flush", new JsonObject { ["collectionName"] = name });
        // Rows after the checkpoint: only in the log, which the shard replays where it activates next.
        await InsertAsync(shard, name, oracle, 40, 25);

        await cluster.Cluster.StopSiloAsync(cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(before)));
        var after = await SiloOfAsync(cluster, key, "shard", activate: () => shard.ReadyAsync());

        Assert.NotEqual(before, after);
        Assert.Contains(cluster.Cluster.GetActiveSilos(), s => s.SiloAddress.Equals(after));
        Assert.Equal(oracle, await KeysAsync(shard, name));
    }

    [NatsFact]
    public async Task AReplicaWhoseSiloStops_ActivatesOnTheSiloNoOtherReplicaHolds_AndServesEveryRow()
    {
        using var data = new TempFolder("quiver-inproc-replica");
        await using var cluster = await StartAsync(data.Path);
        const string Key = "default/spread";
        var shard = cluster.Client.GetGrain<IShardGrain>(Key);
        await CreateAsync(shard, "spread");
        var oracle = new SortedSet<long>();
        await InsertAsync(shard, "spread", oracle, 0, 30);
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "spread" });

        Assert.Equal(2, await cluster.Client.GetGrain<IReplicaSetGrain>(Key).LoadAsync(2, 1));
        var replicas = new[] { 0, 1 }.Select(i => cluster.Client.GetGrain<IReplicaGrain>(ReplicaRecords.GrainKey(Key, i))).ToArray();
        var places = new SiloAddress[2];
        for (var i = 0; i < 2; i++)
        {
            var replica = replicas[i];
            places[i] = await SiloOfAsync(cluster, ReplicaRecords.GrainKey(Key, i), "replica", activate: () => replica.PlaceAsync());
        }

        Assert.NotEqual(places[0], places[1]);
        // Stop the silo of a replica that is not the primary's; it comes back on the one silo holding no replica.
        var moved = places[0].Equals(cluster.Cluster.Primary!.SiloAddress) ? 1 : 0;
        var stays = 1 - moved;
        await cluster.Cluster.StopSiloAsync(cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(places[moved])));
        var now = await SiloOfAsync(cluster, ReplicaRecords.GrainKey(Key, moved), "replica", activate: () => replicas[moved].PlaceAsync());

        var free = cluster.Cluster.GetActiveSilos().Select(s => s.SiloAddress).Single(s => !s.Equals(places[stays]));
        Assert.Equal(free, now);
        Assert.Equal(places[stays], await SiloOfAsync(cluster, ReplicaRecords.GrainKey(Key, stays), "replica", activate: () => replicas[stays].PlaceAsync()));
        foreach (var replica in replicas)
        {
            var request = new Protocol.Milvus.QueryRequest { CollectionName = "spread", Expr = "id >= 0", ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong };
            request.OutputFields.Add("id");
            var reply = await replica.ReadAsync("Query", request.ToByteArray(), "default", 0, 0);
            Assert.True(reply.StatusCode == 0, reply.Detail);
            var results = Protocol.Milvus.QueryResults.Parser.ParseFrom(reply.Response);
            Assert.True(results.Status is null || results.Status.Code == 0, results.Status?.Reason);
            Assert.Equal(oracle, results.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order());
        }
    }

    /// <summary>A collection of its own whose shard grain activated on a silo that is not the primary: a few names are
    /// tried (each lands on one of three silos).</summary>
    private static async Task<(string Key, SiloAddress Silo)> ShardOffPrimaryAsync(InProcessCluster cluster, string prefix)
    {
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var name = $"{prefix}{attempt}";
            var key = $"default/{name}";
            var shard = cluster.Client.GetGrain<IShardGrain>(key);
            await CreateAsync(shard, name);
            var silo = await SiloOfAsync(cluster, key, "shard", activate: () => shard.ReadyAsync());
            if (!silo.Equals(cluster.Cluster.Primary!.SiloAddress))
            {
                return (key, silo);
            }
        }

        throw new InvalidOperationException("twelve shard grains in a row activated on the primary silo");
    }

    /// <summary>The silo where the grain of kind <paramref name="kind"/> (Orleans's grain type name: <c>shard</c>,
    /// <c>replica</c>) with key <paramref name="key"/> is active, after <paramref name="activate"/> made sure it is.</summary>
    private static async Task<SiloAddress> SiloOfAsync(InProcessCluster cluster, string key, string kind, Func<Task> activate)
    {
        await activate();
        var statistics = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var found = statistics.Where(s => s.GrainId.Key.ToString() == key && s.GrainId.Type.ToString() == kind).ToArray();
        Assert.True(found.Length == 1, $"{found.Length} activations of {kind} '{key}' among {string.Join(", ", statistics.Select(s => s.GrainId.ToString()))}");
        return found[0].SiloAddress;
    }

    private static Task CreateAsync(IShardGrain shard, string name) => RestAsync(shard, "/collections/create", ShardRest.Create(name));

    private static Task InsertAsync(IShardGrain shard, string name, SortedSet<long> oracle, int from, int count) =>
        RestAsync(shard, "/entities/insert", ShardRest.Insert(name, oracle, from, count));

    private static async Task<IEnumerable<long>> KeysAsync(IShardGrain shard, string name)
    {
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = name });
        return ShardRest.Keys(await RestAsync(shard, "/entities/query", new JsonObject { ["collectionName"] = name, ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("id"), ["limit"] = 16384 }));
    }

    private static Task<JsonNode> RestAsync(IShardGrain shard, string path, JsonObject body) => ShardRest.CallAsync(shard, path, body);
}
