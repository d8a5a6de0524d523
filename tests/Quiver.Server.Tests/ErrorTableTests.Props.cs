using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md for collection TTL, partition keys and AlterIndex: a partition-key collection
/// <c>tenants</c> (Int64 key, VarChar partition key <c>tenant</c>, vector <c>v</c>, made on first use) and the request of
/// each case.</summary>
public sealed partial class ErrorTableTests
{
    private static async Task EnsureTenantsAsync(TestServer server)
    {
        // Made by the first case that needs it (the table runs on one server; "already exists" is fine after that).
        await server.Milvus.CreateCollectionAsync(CreateCollection("tenants", PartitionKeyFields("tenant")));
    }

    private static Protocol.Schema.FieldSchema[] PartitionKeyFields(params string[] keys) =>
    [
        Field("id", ProtoType.Int64, primary: true),
        .. keys.Select(k => new Protocol.Schema.FieldSchema
        {
            Name = k,
            DataType = ProtoType.VarChar,
            IsPartitionKey = true,
            TypeParams = { Kv("max_length", "16") },
        }),
        Field("v", ProtoType.FloatVector, typeParams: ("dim", "2")),
    ];

    private static async Task<Answer> AlterTtlAsync(TestServer server, string value) =>
        Answer.Of(await server.Milvus.AlterCollectionAsync(new AlterCollectionRequest
        {
            CollectionName = "docs",
            Properties = { Kv("collection.ttl.seconds", value) },
        }));

    private static async Task<Answer> AlterIndexAsync(TestServer server, string key, string value) =>
        Answer.Of(await server.Milvus.AlterIndexAsync(new AlterIndexRequest
        {
            CollectionName = "docs",
            IndexName = "embedding",
            ExtraParams = { Kv(key, value) },
        }));

    /// <summary><paramref name="cases"/> with the TTL, partition-key and AlterIndex cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithPropsCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        cases.Add("ttl-not-an-integer", s => AlterTtlAsync(s.Plain, "a day"));
        cases.Add("ttl-out-of-range", s => AlterTtlAsync(s.Plain, "-2"));
        cases.Add("partition-key-partition-names", async s =>
        {
            await EnsureTenantsAsync(s.Plain);
            return Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest
            {
                CollectionName = "tenants",
                PartitionName = "_default_1",
                NumRows = 1,
                FieldsData = { Long("id", 1), VarChar("tenant", "acme"), Vectors("v", 2, new float[] { 1, 0 }) },
            })).Status);
        });
        cases.Add("partition-key-create-partition", async s =>
        {
            await EnsureTenantsAsync(s.Plain);
            return Answer.Of(await s.Plain.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = "tenants", PartitionName = "p1" }));
        });
        cases.Add("partition-key-drop-partition", async s =>
        {
            await EnsureTenantsAsync(s.Plain);
            return Answer.Of(await s.Plain.Milvus.DropPartitionAsync(new DropPartitionRequest { CollectionName = "tenants", PartitionName = "_default_1" }));
        });
        cases.Add("partition-key-load-partitions", async s =>
        {
            await EnsureTenantsAsync(s.Plain);
            return Answer.Of(await s.Plain.Milvus.LoadPartitionsAsync(new LoadPartitionsRequest { CollectionName = "tenants", PartitionNames = { "_default_1" } }));
        });
        cases.Add("partition-key-schema", async s =>
            Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("two_keys", PartitionKeyFields("a", "b")))));
        cases.Add("num-partitions-without-key", async s =>
        {
            var create = CreateCollection("no_key", Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "2")));
            create.NumPartitions = 8;
            return Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(create));
        });
        cases.Add("alter-index-property", s => AlterIndexAsync(s.Plain, "M", "32"));
        cases.Add("alter-index-mmap-value", s => AlterIndexAsync(s.Plain, "mmap.enabled", "yes"));
        return cases;
    }
}
