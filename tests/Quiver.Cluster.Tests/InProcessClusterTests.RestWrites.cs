using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Testing;
using Quiver.Wire;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;

namespace Quiver.Cluster.Tests;

/// <summary>Issue 17 (REST writes on a node without Milvus messages): a REST insert or upsert on a collection of three
/// shards is read by the node into columns, checked, keyed and routed as the node's gRPC write is, and each shard gets
/// its rows as a REST write (never a Milvus Insert or Upsert message). The node's gRPC path is the oracle: each write is
/// sent both ways, to twin collections, and must answer the same counts, keys (in the rows' order) and refusals (code
/// and message), and leave the same rows; on collections with a field of every scalar type, TIMESTAMPTZ read in the
/// collection's time zone, nullable and default-valued fields, the dynamic field and four vector types, keyed by Int64,
/// by VarChar, by an automatic Int64 key and by Int64 with a partition key. What reaches the shards is read from an
/// Orleans filter on the silos (<see cref="ShardCalls"/>).</summary>
public sealed partial class InProcessClusterTests
{
    /// <summary>Every call a shard grain received while set (method and, for a Milvus call, its RPC; for a REST call,
    /// its path); null: not recorded.</summary>
    private static ConcurrentQueue<string>? _shardCalls;

    /// <summary>One write, sent both ways: its rows, insert or upsert, the partition and the collection (null: the pair's own).</summary>
    private sealed record TwinWrite(JsonArray Rows, bool Upsert = false, string? Partition = null, string? Collection = null);

    [NatsFact]
    public async Task RestWritesOnThreeShards_AnswerAsTheNodesGrpcWrites_AndReachEachShardAsARestWrite()
    {
        await using var cluster = await StartAsync();
        var routing = new MilvusRouting(cluster.Client, _context!);
        await using var restNode = await RestNodeAsync(cluster, routing);
        Task<JsonObject> Rest(string path, JsonNode body) => restNode.CallAsync(path, body.AsObject());

        async Task<T> Grpc<T>(string rpc, IMessage request, MessageParser<T> parser) where T : IMessage<T> =>
            parser.ParseFrom(await CallAsync(routing, rpc, request));

        var refusals = new List<string>();
        try
        {
            foreach (var key in new[] { "int", "varchar", "auto", "partkey" })
            {
                var (restName, grpcName) = ("rw_" + key, "gw_" + key);
                foreach (var name in new[] { restName, grpcName })
                {
                    var created = await Rest("/collections/create", WriteTwins.Collection(name, key, shards: 3, timestamptz: true));
                    Assert.True((int)created["code"]! == 0, created.ToJsonString());
                    var zoned = await Rest("/collections/alter_properties", new JsonObject { ["collectionName"] = name, ["properties"] = new JsonObject { ["timezone"] = "Asia/Tokyo" } });
                    Assert.True((int)zoned["code"]! == 0, zoned.ToJsonString());
                    if (key != "partkey")
                    {
                        var partition = await Rest("/partitions/create", new JsonObject { ["collectionName"] = name, ["partitionName"] = "p1" });
                        Assert.True((int)partition["code"]! == 0, partition.ToJsonString());
                    }
                }

                var described = await Grpc("DescribeCollection", new DescribeCollectionRequest { CollectionName = restName }, DescribeCollectionResponse.Parser);
                AssertOk(described.Status);
                var schema = SchemaConversion.FromProto(described.Schema.ToByteString(), restName);
                var zone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
                var writes = new List<TwinWrite>
                {
                    new(WriteTwins.Rows(key, 0, 30, timestamptz: true)),
                    new(WriteTwins.Rows(key, 30, 12, timestamptz: true), Partition: "p1"),
                    // Nulls and defaults: every second row leaves the nullable and default-valued fields out, others give null.
                    new(WriteTwins.Rows(key, 42, 8, sparse: true, timestamptz: true)),
                    new(WriteTwins.Rows(key, 20, 15, shift: 1, timestamptz: true), Upsert: true),
                    new(WriteTwins.Rows(key, 60, 4, shift: 2, timestamptz: true), Upsert: true, Partition: "p1"),
                    // Refusals the rules make, whichever transport read the rows.
                    new(WriteTwins.Rows(key, 70, 2, timestamptz: true), Collection: "nope"),
                    new(WriteTwins.Rows(key, 70, 2, timestamptz: true), Partition: "p9"),
                    new(WriteTwins.Rows(key, 70, 2, timestamptz: true), Upsert: true, Partition: "p9"),
                    new(WriteTwins.Rows(key, 70, 2, name: "a name far longer than sixteen", timestamptz: true)),
                    new(WriteTwins.Rows(key, 70, 2, longArray: true, timestamptz: true), Upsert: true),
                };
                // An upsert of an automatic-key collection names keys each collection drew itself: inserts only there.
                foreach (var write in writes.Where(w => key != "auto" || !w.Upsert))
                {
                    var (r, g) = write.Collection is { } named ? (named, named) : (restName, grpcName);
                    var what = $"{key} {(write.Upsert ? "upsert" : "insert")} of {write.Rows.Count} into {r}/{write.Partition}";
                    _shardCalls = new ConcurrentQueue<string>();
                    var body = new JsonObject { ["collectionName"] = r, ["data"] = write.Rows.DeepClone() };
                    if (write.Partition is { } partition)
                    {
                        body["partitionName"] = partition;
                    }

                    var actual = await Rest(write.Upsert ? "/entities/upsert" : "/entities/insert", body);
                    var restCalls = _shardCalls.ToArray();

                    // The gRPC columns are the columns REST's reader makes of the same rows, as Milvus's SDKs send them.
                    using var document = JsonDocument.Parse(write.Rows.ToJsonString());
                    var fields = FieldDataWriter.Write(schema, RestJsonReader.Read(WriteTwins.WithoutArrayCapacity(schema), document.RootElement, insert: !write.Upsert, zone), NullForm.Compact);
                    _shardCalls = new ConcurrentQueue<string>();
                    var expected = write.Upsert
                        ? await Grpc("Upsert", new UpsertRequest { CollectionName = g, PartitionName = write.Partition ?? "", NumRows = (uint)write.Rows.Count, FieldsData = { fields } }, MilvusMutation.Parser)
                        : await Grpc("Insert", new InsertRequest { CollectionName = g, PartitionName = write.Partition ?? "", NumRows = (uint)write.Rows.Count, FieldsData = { fields } }, MilvusMutation.Parser);
                    var grpcCalls = _shardCalls.ToArray();
                    _shardCalls = null;

                    // No Milvus write message reaches a shard for a REST write; a gRPC write's do.
                    Assert.DoesNotContain(restCalls, c => c is "CallAsync Insert" or "CallAsync Upsert");
                    Assert.DoesNotContain(grpcCalls, c => c.StartsWith("RestAsync /entities/", StringComparison.Ordinal));
                    var code = (int)actual["code"]!;
                    if (expected.Status.Code != 0)
                    {
                        // The message names the collection the call was sent to.
                        var reason = expected.Status.Reason.Replace(g, r, StringComparison.Ordinal);
                        Assert.True((expected.Status.Code, reason) == (code, (string?)actual["message"]),
                            $"{what}: gRPC refused {expected.Status.Code} '{expected.Status.Reason}', REST answered {actual.ToJsonString()}");
                        refusals.Add($"{what}: {expected.Status.Code} {expected.Status.Reason}");
                        continue;
                    }

                    Assert.True(code == 0, $"{what}: gRPC wrote, REST answered {actual.ToJsonString()}");
                    Assert.Contains(restCalls, c => c.StartsWith("RestAsync /entities/", StringComparison.Ordinal));
                    Assert.Contains(grpcCalls, c => c is "CallAsync Insert" or "CallAsync Upsert");
                    var data = actual["data"]!;
                    var (count, ids) = write.Upsert ? ("upsertCount", "upsertIds") : ("insertCount", "insertIds");
                    Assert.Equal(write.Upsert ? expected.UpsertCnt : expected.InsertCnt, (long)data[count]!);
                    var keys = data[ids]!.AsArray();
                    if (key == "auto")
                    {
                        // Each collection draws its own keys: as many, all new.
                        Assert.Equal(PrimaryKeys.Count(expected.IDs), keys.Count);
                    }
                    else
                    {
                        Assert.Equal(MilvusRestV2.IdsJson(expected.IDs, allowInt64: false).ToJsonString(), keys.ToJsonString());
                    }

                    // Every key answered is where its row was: the row stored under it is that row (its n).
                    await AssertKeysInRowOrderAsync(routing, r, schema.PrimaryKey.Name, keys, write.Rows, what);
                }

                // The rows left are the same, field for field (an automatic key aside), in every partition.
                foreach (var partition in key == "partkey" ? new string?[] { null } : ["_default", "p1"])
                {
                    var left = await TwinRowsAsync(routing, restName, partition, key);
                    var other = await TwinRowsAsync(routing, grpcName, partition, key);
                    Assert.Equal(other, left);
                    Assert.True(left.Length > 10, left);
                }
            }
        }
        finally
        {
            _shardCalls = null;
        }

        // 5 refusals per key kind (no collection, no partition twice, a VarChar too long, an array over its capacity), 3
        // for the automatic key (no upserts); a partition key's collection refuses the named partitions too (p1 twice).
        Assert.True(refusals.Count == 20, string.Join("\n", refusals));
    }

    /// <summary>Records the calls shard grains receive while <see cref="_shardCalls"/> is set (added to each silo).</summary>
    private static Task RecordShardCallAsync(Orleans.IIncomingGrainCallContext context)
    {
        if (_shardCalls is { } calls && context.InterfaceMethod?.DeclaringType == typeof(IShardGrain))
        {
            var method = context.InterfaceMethod.Name;
            calls.Enqueue(method is nameof(IShardGrain.CallAsync) or nameof(IShardGrain.RestAsync)
                ? $"{method} {context.Request.GetArgument(0)}"
                : method);
        }

        return context.Invoke();
    }

    /// <summary>Each key of <paramref name="keys"/> (a write's answer) names the row of <paramref name="rows"/> at its
    /// place: a query by the keys answers, for each, that row's <c>n</c>.</summary>
    private static async Task AssertKeysInRowOrderAsync(MilvusRouting routing, string collection, string keyName, JsonArray keys, JsonArray rows, string what)
    {
        Assert.Equal(rows.Count, keys.Count);
        var listed = string.Join(",", keys.Select(k => JsonSerializer.Serialize(k!.GetValue<string>())));
        var answer = QueryResults.Parser.ParseFrom(await CallAsync(routing, "Query", new MilvusQuery
        {
            CollectionName = collection,
            Expr = $"{keyName} in [{(keyName == "pk" ? listed : string.Join(",", keys.Select(k => k!.GetValue<string>())))}]",
            OutputFields = { keyName, "n" },
            ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong,
        }));
        AssertOk(answer.Status);
        var (found, schema) = FieldDataReader.ReadResult(answer.FieldsData, FieldDataReader.RowCount(answer.FieldsData[0]));
        var nOf = found.ToRows(schema).ToDictionary(row => Convert.ToString(row[keyName], CultureInfo.InvariantCulture)!, row => Convert.ToInt64(row["n"], CultureInfo.InvariantCulture));
        for (var i = 0; i < keys.Count; i++)
        {
            Assert.True(nOf.TryGetValue(keys[i]!.GetValue<string>(), out var n) && n == rows[i]!["n"]!.GetValue<int>(), $"{what}: key {keys[i]} answered for row {i} holds n {n}");
        }
    }

    /// <summary>Every row of <paramref name="partition"/> (null: every partition) of <paramref name="collection"/>
    /// (gRPC query), printed in key order (by <c>n</c> for an automatic key, which is left out).</summary>
    private static async Task<string> TwinRowsAsync(MilvusRouting routing, string collection, string? partition, string key)
    {
        var query = new MilvusQuery { CollectionName = collection, Expr = "n >= 0", OutputFields = { "*" }, ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong };
        if (partition is not null)
        {
            query.PartitionNames.Add(partition);
        }

        var answer = QueryResults.Parser.ParseFrom(await CallAsync(routing, "Query", query));
        AssertOk(answer.Status);
        var (rows, schema) = FieldDataReader.ReadResult(answer.FieldsData, FieldDataReader.RowCount(answer.FieldsData[0]));
        return WriteTwins.Print(rows.ToRows(schema), key);
    }
}
