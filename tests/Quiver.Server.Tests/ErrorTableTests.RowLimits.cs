using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md for row values a hostile writer sent (session 37's leftovers): a JSON value over
/// Milvus's 65,536 bytes, an Array row over its <c>max_capacity</c> or with no data, a sparse column with a negative
/// <c>dim</c>. The Array cases write into <c>tagged</c> (Int64 key, Array of Int64 <c>tags</c> of capacity 8, made on
/// first use).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the row-limit cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithRowLimitCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        cases.Add("json-value-too-large", async s => Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "notes",
            NumRows = 1,
            FieldsData = { Long("id", 1), Json("meta", "{\"a\":\"" + new string('x', JsonLimits.MaxBytes - 7) + "\"}"), Vectors("embedding", Servers.Dim, [1, 2, 3, 4]) },
        })).Status));
        cases.Add("array-over-capacity", s => TaggedInsertAsync(s, LongArrays("tags", [1, 2, 3, 4, 5, 6, 7, 8, 9])));
        cases.Add("array-row-no-data", s => TaggedInsertAsync(s, new FieldData
        {
            FieldName = "tags",
            Type = ProtoType.Array,
            Scalars = new ScalarField { ArrayData = new ArrayArray { ElementType = ProtoType.Int64, Data = { new ScalarField() } } },
        }));
        cases.Add("sparse-dim-negative", async s =>
        {
            await EnsureSparseAsync(s.Plain);
            var column = new FieldData
            {
                FieldName = "s",
                Type = ProtoType.SparseFloatVector,
                Vectors = new VectorField { Dim = -5, SparseFloatVector = new SparseFloatArray { Dim = -5, Contents = { SparsePairs((1, 1)) } } },
            };
            return Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest { CollectionName = "sparse_docs", NumRows = 1, FieldsData = { Long("id", 1), column } })).Status);
        });
        return cases;
    }

    private static async Task<Answer> TaggedInsertAsync(Servers s, FieldData tags)
    {
        // Created by the first Array case (the table runs on one server; "already exists" is fine after that).
        var tagsField = Field("tags", ProtoType.Array, typeParams: ("max_capacity", "8"));
        tagsField.ElementType = ProtoType.Int64;
        await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("tagged",
            Field("id", ProtoType.Int64, primary: true), tagsField, Field("embedding", ProtoType.FloatVector, typeParams: ("dim", "4"))));
        return Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "tagged",
            NumRows = 1,
            FieldsData = { Long("id", 1), tags, Vectors("embedding", Servers.Dim, [1, 2, 3, 4]) },
        })).Status);
    }
}
