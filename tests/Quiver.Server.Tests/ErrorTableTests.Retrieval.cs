using Google.Protobuf;
using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md for the retrieval rules of issue 14 closed this session: a BM25 output field named
/// in output fields, <c>partitionkey.isolation</c> without a partition key, a search it cannot serve and a change of it
/// while a vector index exists, and <c>ttl_field</c>.</summary>
public sealed partial class ErrorTableTests
{
    private static async Task EnsureIsolatedTenantsAsync(TestServer server)
    {
        // Made by the first case that needs it (the table runs on one server; "already exists" is fine after that).
        var create = CreateCollection("tenants_iso", PartitionKeyFields("tenant"));
        create.Properties.Add(Kv("partitionkey.isolation", "true"));
        await server.Milvus.CreateCollectionAsync(create);
        await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "tenants_iso" });
    }

    private static Dictionary<string, Func<Servers, Task<Answer>>> RetrievalCases() => new(StringComparer.Ordinal)
    {
        ["bm25-output-field"] = async s =>
        {
            await EnsureFullTextAsync(s.Plain);
            return Answer.Of((await s.Plain.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
            {
                CollectionName = "fulltext", Expr = "id >= 0", OutputFields = { "text", "sparse" }, QueryParams = { Kv("limit", "3") },
            })).Status);
        },
        ["partition-key-isolation-without-key"] = async s =>
        {
            var create = CreateCollection("iso_without_key", Field("id", Protocol.Schema.DataType.Int64, primary: true),
                Field("v", Protocol.Schema.DataType.FloatVector, typeParams: ("dim", "2")));
            create.Properties.Add(Kv("partitionkey.isolation", "true"));
            return Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(create));
        },
        ["partition-key-isolation-filter"] = async s =>
        {
            await EnsureIsolatedTenantsAsync(s.Plain);
            var placeholder = new Protocol.Common.PlaceholderValue
            {
                Tag = "$0", Type = Protocol.Common.PlaceholderType.FloatVector, Values = { ByteString.CopyFrom(new byte[8]) },
            };
            var response = await s.Plain.Milvus.SearchAsync(new Protocol.Milvus.SearchRequest
            {
                CollectionName = "tenants_iso",
                Nq = 1,
                Dsl = "tenant in [\"a\", \"b\"]",
                DslType = Protocol.Common.DslType.BoolExprV1,
                PlaceholderGroup = new Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString(),
                SearchParams = { Kv("anns_field", "v"), Kv("topk", "3"), Kv("metric_type", "L2"), Kv("params", "{}") },
            });
            return Answer.Of(response.Status);
        },
        ["partition-key-isolation-indexed"] = async s =>
        {
            // Made here (the table runs on one server; "already exists" is fine on a rerun of the case).
            await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("tenants_indexed", PartitionKeyFields("tenant")));
            var index = new CreateIndexRequest { CollectionName = "tenants_indexed", FieldName = "v" };
            index.ExtraParams.Add(Kv("index_type", "FLAT"));
            index.ExtraParams.Add(Kv("metric_type", "L2"));
            await s.Plain.Milvus.CreateIndexAsync(index);
            return Answer.Of(await s.Plain.Milvus.AlterCollectionAsync(new AlterCollectionRequest
            {
                CollectionName = "tenants_indexed",
                Properties = { Kv("partitionkey.isolation", "true") },
            }));
        },
        ["ttl-field"] = async s => Answer.Of(await s.Plain.Milvus.AlterCollectionAsync(new AlterCollectionRequest
        {
            CollectionName = "docs",
            Properties = { Kv("ttl_field", "expires_at") },
        })),
    };
}
