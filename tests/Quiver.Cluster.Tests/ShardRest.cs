using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.JetStream;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>What the tests of shards and replicas without node processes share (<see cref="ReplicaInPlaceTests"/>,
/// <see cref="ReplicaFollowTests"/>, <see cref="ShardLoadStateTests"/>, <see cref="InProcessClusterTests"/>): a node's
/// context over a test's NATS connection, the collection they create (an Int64 key <c>id</c>, maybe a VarChar
/// <c>tag</c>, a 4-d <c>vector</c> with a FLAT index), its rows, and REST v2 calls on a shard host, a shard grain or a
/// replica, each of which must answer code 0.</summary>
internal static class ShardRest
{
    /// <summary>A node's context in cluster <paramref name="prefix"/> (made unique) with its data under
    /// <paramref name="dataPath"/>, as a silo or a test of one shard builds it.</summary>
    public static NodeContext Node(string prefix, string dataPath, INatsJSContext jetStream) =>
        new(new NodeConfig { Cluster = NatsFixture.Unique(prefix), DataPath = dataPath, Replicas = 3 }, jetStream, null!);

    /// <summary>The REST body creating collection <paramref name="name"/>: <c>id</c>, a <c>tag</c> of at most 16
    /// characters when <paramref name="tag"/>, <c>vector</c> (4-d) with a FLAT L2 index (named <paramref name="indexName"/>
    /// when given).</summary>
    public static JsonObject Create(string name, bool tag = false, string? indexName = null)
    {
        var fields = new JsonArray(new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true });
        if (tag)
        {
            fields.Add(new JsonObject { ["fieldName"] = "tag", ["dataType"] = "VarChar", ["elementTypeParams"] = new JsonObject { ["max_length"] = 16 } });
        }

        fields.Add(new JsonObject { ["fieldName"] = "vector", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = 4 } });
        var index = new JsonObject { ["fieldName"] = "vector", ["metricType"] = "L2", ["indexType"] = "FLAT" };
        if (indexName is not null)
        {
            index["indexName"] = indexName;
        }

        return new JsonObject
        {
            ["collectionName"] = name,
            ["schema"] = new JsonObject { ["autoId"] = false, ["fields"] = fields },
            ["indexParams"] = new JsonArray(index),
        };
    }

    /// <summary>The REST body inserting rows <paramref name="from"/> .. <paramref name="from"/> + <paramref name="count"/>
    /// - 1 into collection <paramref name="name"/> (key i, vector [i, 1, 2, 3], tag <c>t{i % 3}</c> when
    /// <paramref name="tag"/>, the other fields of <paramref name="extra"/>(i) when given), into
    /// <paramref name="partition"/> when given; the keys are added to <paramref name="oracle"/>.</summary>
    public static JsonObject Insert(string name, SortedSet<long> oracle, int from, int count, string? partition = null, bool tag = false,
        Func<int, JsonObject>? extra = null)
    {
        var rows = new JsonArray();
        for (var i = from; i < from + count; i++)
        {
            var row = new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, 1, 2, 3) };
            if (tag)
            {
                row["tag"] = $"t{i % 3}";
            }

            foreach (var (field, value) in extra?.Invoke(i) ?? [])
            {
                row[field] = value?.DeepClone();
            }

            rows.Add(row);
            oracle.Add(i);
        }

        var body = new JsonObject { ["collectionName"] = name, ["data"] = rows };
        if (partition is not null)
        {
            body["partitionName"] = partition;
        }

        return body;
    }

    /// <summary>Calls <paramref name="path"/> on a shard host.</summary>
    public static async Task<JsonNode> CallAsync(ShardHost shard, string path, JsonObject body) =>
        Answer(path, await shard.RestAsync(path, Bytes(body), allowInt64: true));

    /// <summary>Calls <paramref name="path"/> on a shard grain.</summary>
    public static async Task<JsonNode> CallAsync(IShardGrain shard, string path, JsonObject body) =>
        Answer(path, await shard.RestAsync(path, Bytes(body), allowInt64: true));

    /// <summary>Reads <paramref name="path"/> from a replica at Strong.</summary>
    public static async Task<JsonNode> CallAsync(ReplicaHost replica, string path, JsonObject body) =>
        Answer(path, await replica.RestReadAsync(path, Bytes(body), allowInt64: true, level: 0, guaranteeTs: 0, CancellationToken.None));

    /// <summary>The keys of a query answer's rows, in order.</summary>
    public static IEnumerable<long> Keys(JsonNode answer) => answer["data"]!.AsArray().Select(r => r!["id"]!.GetValue<long>()).Order().ToList();

    private static byte[] Bytes(JsonObject body) => Encoding.UTF8.GetBytes(body.ToJsonString());

    private static JsonNode Answer(string path, RestReply reply)
    {
        var answer = Encoding.UTF8.GetString(reply.Body);
        var node = JsonNode.Parse(answer)!;
        Assert.True(reply.HttpStatus == 200 && node["code"]?.GetValue<int>() == 0, $"{path}: {reply.HttpStatus} {answer}");
        return node;
    }
}
