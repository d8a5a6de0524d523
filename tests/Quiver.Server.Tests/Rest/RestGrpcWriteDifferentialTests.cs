using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using Quiver.Server.Milvus;
using Quiver.Server.Security;
using Quiver.Testing;
using Quiver.Wire;
using WireQuery = Quiver.Protocol.Milvus.QueryRequest;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (one data path): a REST insert or upsert is read from its JSON straight into engine columns and runs through
/// the same write rules as a gRPC Insert or Upsert (<c>WriteInput</c>), with no Milvus request message built for the
/// security gate or the handler. The gRPC server is the oracle: each write is sent both ways, to twin collections, and
/// must answer the same counts, keys and refusals (code and message), and leave the same rows; on collections with a
/// field of every scalar type, nullable and default-valued fields, the dynamic field, four vector types, keyed by Int64,
/// by VarChar and by an automatic Int64 key. The gRPC columns are the columns REST's reader made of the same rows,
/// written as Milvus's SDKs send them (<see cref="FieldDataWriter"/>, compact nulls).
/// </summary>
public sealed class RestGrpcWriteDifferentialTests
{
    private const int MaxRows = 50;

    /// <summary>One write, sent both ways: its rows, insert or upsert, the partition and the collection (null: the pair's own).</summary>
    private sealed record Write(JsonArray Rows, bool Upsert = false, string? Partition = null, string? Collection = null);

    [Fact]
    public async Task InsertsAndUpserts_OfEveryFieldType_AnswerOverRestAsOverGrpc_CountsKeysRowsAndRefusals()
    {
        await using var server = await TestServer.StartAsync(o => o.Security.MaxRowsPerInsert = MaxRows);
        var gate = (SecurityGate)server.Server.Services.GetRequiredService<ISecurityGate>();
        var refusals = new List<string>();
        foreach (var key in new[] { "int", "varchar", "auto" })
        {
            var (rest, grpc) = ("r_" + key, "g_" + key);
            await CreateAsync(server, rest, key);
            await CreateAsync(server, grpc, key);
            var writes = new Write[]
            {
                new(WriteTwins.Rows(key, 0, 30)),
                new(WriteTwins.Rows(key, 30, 12), Partition: "p1"),
                // Nulls and defaults: every second row leaves the nullable and default-valued fields out, others give null.
                new(WriteTwins.Rows(key, 42, 8, sparse: true)),
                new(WriteTwins.Rows(key, 20, 15, shift: 1), Upsert: true),
                new(WriteTwins.Rows(key, 60, 4, shift: 2), Upsert: true, Partition: "p1"),
                // Refusals the rules make, whichever transport read the rows.
                new(WriteTwins.Rows(key, 70, 2), Collection: "nope"),
                new(WriteTwins.Rows(key, 70, 2), Partition: "p9"),
                new(WriteTwins.Rows(key, 70, 2), Upsert: true, Partition: "p9"),
                new(WriteTwins.Rows(key, 100, MaxRows + 1)),
                new(WriteTwins.Rows(key, 100, MaxRows + 1), Upsert: true),
                new(WriteTwins.Rows(key, 70, 2, name: "a name far longer than sixteen")),
                new(WriteTwins.Rows(key, 70, 2, longArray: true), Upsert: true),
            };
            // An upsert of an automatic-key collection names keys each collection drew itself: inserts only there.
            foreach (var write in writes.Where(w => key != "auto" || !w.Upsert))
            {
                var schema = server.Server.Engine.GetCollection(rest).Schema;
                using var document = JsonDocument.Parse(write.Rows.ToJsonString());
                var batch = RestJsonReader.Read(WriteTwins.WithoutArrayCapacity(schema), document.RootElement, insert: !write.Upsert);
                var fields = FieldDataWriter.Write(schema, batch, NullForm.Compact);
                var (restName, grpcName) = write.Collection is { } named ? (named, named) : (rest, grpc);
                var gateAt = gate.WriteMessagesRead;
                var actual = await RestFloatCollection.PostAsync(server, write.Upsert ? "/entities/upsert" : "/entities/insert",
                    Body(restName, write).ToJsonString());
                Assert.Equal(gateAt, gate.WriteMessagesRead);
                var expected = write.Upsert
                    ? await server.Milvus.UpsertAsync(new UpsertRequest { CollectionName = grpcName, PartitionName = write.Partition ?? "", NumRows = (uint)batch.RowCount, FieldsData = { fields } })
                    : await server.Milvus.InsertAsync(new InsertRequest { CollectionName = grpcName, PartitionName = write.Partition ?? "", NumRows = (uint)batch.RowCount, FieldsData = { fields } });
                Assert.Equal(gateAt + 1, gate.WriteMessagesRead);
                var what = $"{key} {(write.Upsert ? "upsert" : "insert")} of {write.Rows.Count} into {restName}/{write.Partition}";
                var code = actual["code"]!.GetValue<int>();
                if (expected.Status.Code != 0)
                {
                    // The message names the collection the call was sent to.
                    var reason = expected.Status.Reason.Replace(grpcName, restName, StringComparison.Ordinal);
                    Assert.True((expected.Status.Code, reason) == (code, actual["message"]?.GetValue<string>()),
                        $"{what}: gRPC refused {expected.Status.Code} '{expected.Status.Reason}', REST answered {actual.ToJsonString()}");
                    refusals.Add($"{what}: {expected.Status.Code} {expected.Status.Reason}");
                    continue;
                }
                Assert.True(code == 0, $"{what}: gRPC wrote, REST answered {actual.ToJsonString()}");
                var data = actual["data"]!;
                var (count, ids) = write.Upsert ? ("upsertCount", "upsertIds") : ("insertCount", "insertIds");
                Assert.Equal(write.Upsert ? expected.UpsertCnt : expected.InsertCnt, data[count]!.GetValue<long>());
                if (key == "auto")
                {
                    // Each collection draws its own keys: as many, all new.
                    Assert.Equal(PrimaryKeys.Count(expected.IDs), data[ids]!.AsArray().Count);
                }
                else
                {
                    Assert.Equal(MilvusRestV2.IdsJson(expected.IDs, allowInt64: false).ToJsonString(), data[ids]!.ToJsonString());
                }
            }

            // The rows left are the same, field for field (an automatic key aside), in both partitions.
            foreach (var partition in new[] { "_default", "p1" })
            {
                var left = await AllAsync(server, rest, partition, key);
                var other = await AllAsync(server, grpc, partition, key);
                Assert.Equal(other, left);
                Assert.True(left.Length > 10, left);
            }
        }

        // 7 refusals per key kind (no collection, no partition twice, over the row limit twice, a VarChar too long, an
        // array over its capacity), 4 for the automatic key (no upserts), each answered alike.
        Assert.True(refusals.Count == 18, string.Join("\n", refusals));
    }

    /// <summary>Every row of <paramref name="partition"/> of <paramref name="collection"/> (gRPC query), printed in key order
    /// (by <c>n</c> for an automatic key, which is left out).</summary>
    private static async Task<string> AllAsync(TestServer server, string collection, string partition, string key)
    {
        var answer = await server.Milvus.QueryAsync(new WireQuery
        {
            CollectionName = collection,
            Expr = "n >= 0",
            OutputFields = { "*" },
            PartitionNames = { partition },
        });
        Assert.True(answer.Status.Code == 0, answer.Status.Reason);
        var (rows, schema) = FieldDataReader.ReadResult(answer.FieldsData, FieldDataReader.RowCount(answer.FieldsData[0]));
        return WriteTwins.Print(rows.ToRows(schema), key);
    }

    /// <summary>The write as a REST body.</summary>
    private static JsonObject Body(string collection, Write write)
    {
        var body = new JsonObject { ["collectionName"] = collection, ["data"] = write.Rows.DeepClone() };
        if (write.Partition is { } partition)
        {
            body["partitionName"] = partition;
        }
        return body;
    }

    /// <summary>A twin (<see cref="WriteTwins.Collection"/>) with a partition p1, indexed and loaded; keyed by
    /// <paramref name="key"/> (int, varchar, auto).</summary>
    private static async Task CreateAsync(TestServer server, string name, string key)
    {
        await RestFloatCollection.PostOkAsync(server, "/collections/create", WriteTwins.Collection(name, key).ToJsonString());
        Assert.Equal(0, (await server.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = name, PartitionName = "p1" })).Code);
    }
}
