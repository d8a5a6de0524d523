using Google.Protobuf;
using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The refusals of AddCollectionField and AlterCollectionSchema (docs/errors.md), each on <c>docs</c>, none of
/// them changing its schema; and a search by ids of a row whose nullable vector is null.</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the add-field cases added (kept here so the main table stays as it was).</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithAddFieldCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        foreach (var (name, run) in AddFieldCases)
        {
            cases.Add(name, run);
        }

        return cases;
    }

    private static async Task<Answer> AddFieldAsync(TestServer server, Protocol.Schema.FieldSchema field) =>
        Answer.Of(await server.Milvus.AddCollectionFieldAsync(new AddCollectionFieldRequest { CollectionName = "docs", Schema = field.ToByteString() }));

    private static Protocol.Schema.FieldSchema Nullable(Protocol.Schema.FieldSchema field)
    {
        field.Nullable = true;
        return field;
    }

    /// <summary>A search by primary key whose row has a null vector (a collection of its own with a nullable vector).</summary>
    private static async Task<Answer> SearchByIdsOfNullVectorAsync(Servers s)
    {
        await s.Plain.CreateLoadedCollectionAsync("nullvec", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), new FieldSchema { Name = "v", DataType = Quiver.DataType.FloatVector, Dimension = 2, Metric = MetricType.L2, Nullable = true }],
        });
        await s.Plain.Server.Engine.InsertAsync("nullvec", [new Quiver.Row { ["id"] = 1L }]);
        var response = await s.Plain.Milvus.SearchAsync(new Protocol.Milvus.SearchRequest
        {
            CollectionName = "nullvec",
            DslType = Protocol.Common.DslType.BoolExprV1,
            Ids = new Protocol.Schema.IDs { IntId = new Protocol.Schema.LongArray { Data = { 1 } } },
            SearchParams = { Kv("anns_field", "v"), Kv("topk", "3"), Kv("params", "{}") },
        });
        return Answer.Of(response.Status);
    }

    private static (string Case, Func<Servers, Task<Answer>> Run)[] AddFieldCases =>
    [
        ("add-field-not-nullable", s => AddFieldAsync(s.Plain, Field("extra", ProtoType.Int64))),
        ("add-field-vector", s => AddFieldAsync(s.Plain, Nullable(Field("extra", ProtoType.FloatVector, typeParams: ("dim", "4"))))),
        ("add-field-primary-key", s => AddFieldAsync(s.Plain, Nullable(Field("extra", ProtoType.Int64, primary: true)))),
        ("add-field-duplicate", s => AddFieldAsync(s.Plain, Nullable(Field("embedding", ProtoType.Int64)))),
        ("add-field-partition-key", s =>
        {
            var key = Nullable(Field("extra", ProtoType.Int64));
            key.IsPartitionKey = true;
            return AddFieldAsync(s.Plain, key);
        }),
        ("search-by-ids-null-vector", SearchByIdsOfNullVectorAsync),
        ("alter-schema-unsupported", async s => Answer.Of((await s.Plain.Milvus.AlterCollectionSchemaAsync(new AlterCollectionSchemaRequest
        {
            CollectionName = "docs",
            Action = new AlterCollectionSchemaRequest.Types.Action { DropRequest = new AlterCollectionSchemaRequest.Types.DropRequest { FieldName = "embedding" } },
        })).AlterStatus)),
    ];
}
