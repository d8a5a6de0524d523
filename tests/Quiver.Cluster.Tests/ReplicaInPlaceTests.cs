using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>A replica (<see cref="ReplicaHost"/>) takes changes of what its shard's collection is, and of what is
/// loaded, in the engine it serves (<see cref="ReplicaHost.Adopted"/>), without opening another
/// (<see cref="ReplicaHost.Opens"/> stays 1). The oracle is the shard itself, a single node's engine and server over the
/// same log: after each change every answer of the replica (catalog descriptions, queries, searches) equals the
/// shard's, and the rows equal the keys the test wrote.</summary>
[Collection("Nats")]
public sealed class ReplicaInPlaceTests(NatsFixture nats)
{
    private const string Key = "default/items";

    [NatsFact]
    public async Task PartitionAliasPropertyLimitLoadAndIndexChanges_AreTakenInPlace_AndAnswerAsTheShard()
    {
        using var data = new TempFolder("quiver-replica-inplace");
        var node = ShardRest.Node("rip", data.Path, nats.JetStream);
        await using var shard = await ShardHost.OpenAsync(node, Key, null, CancellationToken.None);
        await RestAsync(shard, "/collections/create", ShardRest.Create("items", tag: true, indexName: "vector"));
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        var oracle = new SortedSet<long>();
        await InsertAsync(shard, oracle, 0, 60);
        // Sealed rows, so that an index change has segments to act on.
        await RestAsync(shard, "/collections/flush", new JsonObject { ["collectionName"] = "items" });
        await InsertAsync(shard, oracle, 60, 20);

        await using var replica = await ReplicaHost.OpenAsync(node, Key, CancellationToken.None);
        await SameAsync(shard, replica, oracle);

        // A partition created and written at once, with no refresh between: the write's rows land in the partition.
        await RestAsync(shard, "/partitions/create", new JsonObject { ["collectionName"] = "items", ["partitionName"] = "p1" });
        await InsertAsync(shard, oracle, 100, 10, "p1");
        await SameAsync(shard, replica, oracle);
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), ShardRest.Keys(await ReadAsync(replica, "/entities/query", Query("p1"))));
        await replica.RefreshAsync(CancellationToken.None);
        await SameAsync(shard, replica, oracle);

        // An alias, and a collection property.
        await RestAsync(shard, "/aliases/create", new JsonObject { ["collectionName"] = "items", ["aliasName"] = "things" });
        await RestAsync(shard, "/collections/alter_properties", new JsonObject { ["collectionName"] = "items", ["properties"] = new JsonObject { ["collection.ttl.seconds"] = "31536000" } });
        await replica.RefreshAsync(CancellationToken.None);
        await SameAsync(shard, replica, oracle);
        await SameAnswerAsync(shard, replica, "/entities/query", new JsonObject { ["collectionName"] = "things", ["filter"] = "id < 5", ["outputFields"] = new JsonArray("id", "tag") });

        // A field's limit raised (gRPC AlterCollectionField), then a value only the new limit admits.
        var alter = new Quiver.Protocol.Milvus.AlterCollectionFieldRequest { CollectionName = "items", FieldName = "tag" };
        alter.Properties.Add(new Quiver.Protocol.Common.KeyValuePair { Key = "max_length", Value = "64" });
        var altered = await shard.CallAsync("AlterCollectionField", alter.ToByteArray(), "default");
        Assert.True(altered.StatusCode == 0 && Quiver.Protocol.Common.Status.Parser.ParseFrom(altered.Response).Code == 0, altered.Detail);
        await replica.RefreshAsync(CancellationToken.None);
        await RestAsync(shard, "/entities/insert", new JsonObject
        {
            ["collectionName"] = "items",
            ["data"] = new JsonArray(new JsonObject { ["id"] = 300, ["tag"] = new string('x', 40), ["vector"] = new JsonArray(300, 1, 2, 3) }),
        });
        oracle.Add(300);
        await SameAsync(shard, replica, oracle);

        // Only the new partition loaded: reads of the whole collection answer its rows alone, on both.
        await RestAsync(shard, "/collections/release", new JsonObject { ["collectionName"] = "items" });
        await RestAsync(shard, "/partitions/load", new JsonObject { ["collectionName"] = "items", ["partitionNames"] = new JsonArray("p1") });
        await replica.RefreshAsync(CancellationToken.None);
        await SameAnswerAsync(shard, replica, "/collections/get_load_state", new JsonObject { ["collectionName"] = "items" });
        var loaded = await SameAnswerAsync(shard, replica, "/entities/query", Query(null));
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), ShardRest.Keys(loaded));

        // The partition dropped (its rows with it), the collection loaded again.
        await RestAsync(shard, "/collections/release", new JsonObject { ["collectionName"] = "items" });
        await RestAsync(shard, "/partitions/drop", new JsonObject { ["collectionName"] = "items", ["partitionName"] = "p1" });
        oracle.ExceptWith(Enumerable.Range(100, 10).Select(i => (long)i));
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        await replica.RefreshAsync(CancellationToken.None);
        await SameAsync(shard, replica, oracle);

        // The index dropped and another created (IVF_FLAT, searched with every list probed: exact on both).
        await RestAsync(shard, "/collections/release", new JsonObject { ["collectionName"] = "items" });
        await RestAsync(shard, "/indexes/drop", new JsonObject { ["collectionName"] = "items", ["indexName"] = "vector" });
        await RestAsync(shard, "/indexes/create", new JsonObject
        {
            ["collectionName"] = "items",
            ["indexParams"] = new JsonArray(new JsonObject { ["fieldName"] = "vector", ["indexName"] = "ivf", ["metricType"] = "L2", ["indexType"] = "IVF_FLAT", ["params"] = new JsonObject { ["nlist"] = 4 } }),
        });
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        await replica.RefreshAsync(CancellationToken.None);
        await SameAsync(shard, replica, oracle);
        var indexes = await SameAnswerAsync(shard, replica, "/indexes/list", new JsonObject { ["collectionName"] = "items" });
        Assert.Equal("ivf", Assert.Single(indexes["data"]!.AsArray())!.GetValue<string>());

        Assert.Equal(1, replica.Opens);
        Assert.True(replica.Adopted >= 5, $"the replica took {replica.Adopted} changes in place");
    }

    /// <summary>A field added (AddCollectionField) lays out the rows the shard logs after it with the field. The replica
    /// takes it in the engine it serves: through the log (a write right after the add, with the replica's watch off and no
    /// refresh: the replica meets a record holding more fields than its schema and takes the shard's manifest before it
    /// applies the record), then through a refresh (a second field, with a default value, and no write after it). Rows
    /// written before read null or the default, on the replica's sealed and growing rows alike; every answer equals the
    /// shard's, and the replica never opens another engine.</summary>
    [NatsFact]
    public async Task FieldsAdded_AreTakenInPlace_ThroughTheLogAndThroughARefresh_AndAnswerAsTheShard()
    {
        using var data = new TempFolder("quiver-replica-fields");
        var node = ShardRest.Node("rif", data.Path, nats.JetStream);
        await using var shard = await ShardHost.OpenAsync(node, Key, null, CancellationToken.None);
        await RestAsync(shard, "/collections/create", ShardRest.Create("items", tag: true));
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        var oracle = new SortedSet<long>();
        await InsertAsync(shard, oracle, 0, 40);
        await RestAsync(shard, "/collections/flush", new JsonObject { ["collectionName"] = "items" });
        // Rows the replica holds in a growing segment when the field comes.
        await InsertAsync(shard, oracle, 40, 20);
        await using var replica = await ReplicaHost.OpenAsync(node, Key, CancellationToken.None, watch: false);
        await SameAsync(shard, replica, oracle);

        // Through the log: the field added and written at once (values on even keys, null on odd ones).
        await RestAsync(shard, "/collections/fields/add", new JsonObject
        {
            ["collectionName"] = "items",
            ["schema"] = new JsonObject { ["fieldName"] = "note", ["dataType"] = "VarChar", ["nullable"] = true, ["elementTypeParams"] = new JsonObject { ["max_length"] = 8 } },
        });
        await InsertAsync(shard, oracle, 100, 10, extra: i => i % 2 == 0 ? new JsonObject { ["note"] = $"n{i}" } : []);
        await SameAsync(shard, replica, oracle, "note");
        Assert.Equal(1, replica.Opens);

        // Through a refresh: a field with a default value, no write after it; then rows that give it.
        await RestAsync(shard, "/collections/fields/add", new JsonObject
        {
            ["collectionName"] = "items",
            ["schema"] = new JsonObject { ["fieldName"] = "score", ["dataType"] = "Int64", ["nullable"] = true, ["defaultValue"] = 7 },
        });
        await replica.RefreshAsync(CancellationToken.None);
        await SameAsync(shard, replica, oracle, "note", "score");
        await InsertAsync(shard, oracle, 200, 10, extra: i => new JsonObject { ["note"] = $"m{i}", ["score"] = i });
        await SameAsync(shard, replica, oracle, "note", "score");
        Assert.Equal(1, replica.Opens);
        Assert.Equal(1, replica.Adopted);
    }

    /// <summary>The replica's answers equal the shard's: the collection's description, its partitions and aliases, every
    /// key (equal to the oracle) with <c>tag</c> and <paramref name="fields"/>, and two searches (near the first rows and
    /// near the rows from key 100 on).</summary>
    private static async Task SameAsync(ShardHost shard, ReplicaHost replica, SortedSet<long> oracle, params string[] fields)
    {
        await SameAnswerAsync(shard, replica, "/collections/describe", new JsonObject { ["collectionName"] = "items" });
        await SameAnswerAsync(shard, replica, "/partitions/list", new JsonObject { ["collectionName"] = "items" });
        await SameAnswerAsync(shard, replica, "/aliases/list", new JsonObject());
        Assert.Equal(oracle, ShardRest.Keys(await SameAnswerAsync(shard, replica, "/entities/query", Query(null, fields))));
        foreach (var near in new[] { 0.3, 104.3 })
        {
            await SameAnswerAsync(shard, replica, "/entities/search", new JsonObject
            {
                ["collectionName"] = "items",
                ["data"] = new JsonArray(new JsonArray(near, near > 1 ? 1 : 0, near > 1 ? 2 : 0, near > 1 ? 3 : 0)),
                ["limit"] = 10,
                ["outputFields"] = new JsonArray([.. new[] { "id", "tag" }.Concat(fields).Select(f => JsonValue.Create(f))]),
                ["searchParams"] = new JsonObject { ["params"] = new JsonObject { ["nprobe"] = 4 } },
            });
        }
    }

    /// <summary>The answer of <paramref name="path"/> from the shard and from the replica at Strong: equal, rows of a query
    /// taken in key order (two engines may hold the same rows in different segments).</summary>
    private static async Task<JsonNode> SameAnswerAsync(ShardHost shard, ReplicaHost replica, string path, JsonObject body)
    {
        var expected = await ReadAsync(shard, path, body);
        var actual = await ReadAsync(replica, path, body);
        Assert.Equal(Canonical(path, expected), Canonical(path, actual));
        return actual;
    }

    private static string Canonical(string path, JsonNode answer)
    {
        if (path == "/entities/query" && answer["data"] is JsonArray rows)
        {
            var sorted = rows.Select(r => r!.DeepClone()).OrderBy(r => r["id"]!.GetValue<long>()).ToArray();
            answer = answer.DeepClone();
            answer["data"] = new JsonArray(sorted);
        }

        return answer.ToJsonString();
    }

    private static JsonObject Query(string? partition, params string[] fields)
    {
        var body = new JsonObject
        {
            ["collectionName"] = "items",
            ["filter"] = "id >= 0",
            ["outputFields"] = new JsonArray([.. new[] { "id", "tag" }.Concat(fields).Select(f => JsonValue.Create(f))]),
            ["limit"] = 16384,
        };
        if (partition is not null)
        {
            body["partitionNames"] = new JsonArray(partition);
        }

        return body;
    }

    private static Task InsertAsync(ShardHost shard, SortedSet<long> oracle, int from, int count, string? partition = null, Func<int, JsonObject>? extra = null) =>
        RestAsync(shard, "/entities/insert", ShardRest.Insert("items", oracle, from, count, partition, tag: true, extra));

    private static Task<JsonNode> RestAsync(ShardHost shard, string path, JsonObject body) => ShardRest.CallAsync(shard, path, body);

    private static Task<JsonNode> ReadAsync(ShardHost shard, string path, JsonObject body) => ShardRest.CallAsync(shard, path, body);

    private static Task<JsonNode> ReadAsync(ReplicaHost replica, string path, JsonObject body) => ShardRest.CallAsync(replica, path, body);
}
