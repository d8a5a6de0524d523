using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The sparse vector rows of docs/errors.md: a collection <c>sparse_docs</c> (Int64 key, sparse field <c>s</c>,
/// made on first use) and the request of each case.</summary>
public sealed partial class ErrorTableTests
{
    // Static field initializers (Cases in ErrorTableTests.cs) run before this body, so the sparse cases join them here
    // and the shared file needs no edit.
    static ErrorTableTests()
    {
        foreach (var (name, run) in SparseCases().Concat(Bm25Cases()).Concat(RetrievalCases()).Concat(SearchFormCases()))
        {
            Cases.Add(name, run);
        }
    }

    private static async Task EnsureSparseAsync(TestServer server)
    {
        // Created by the first sparse case (the table runs on one server; "already exists" is fine after that).
        await server.Milvus.CreateCollectionAsync(CreateCollection("sparse_docs",
            Field("id", ProtoType.Int64, primary: true), Field("s", ProtoType.SparseFloatVector)));
    }

    internal static ByteString SparsePairs(params (uint Index, float Value)[] pairs)
    {
        var bytes = new byte[pairs.Length * 8];
        for (var i = 0; i < pairs.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), pairs[i].Index);
            BitConverter.TryWriteBytes(bytes.AsSpan((i * 8) + 4), pairs[i].Value);
        }

        return ByteString.CopyFrom(bytes);
    }

    /// <summary>Inserts one row holding <paramref name="row"/> as its sparse vector.</summary>
    private static async Task<Answer> SparseInsertAsync(Servers s, ByteString row)
    {
        await EnsureSparseAsync(s.Plain);
        var column = new FieldData
        {
            FieldName = "s",
            Type = ProtoType.SparseFloatVector,
            Vectors = new VectorField { Dim = 1, SparseFloatVector = new SparseFloatArray { Contents = { row } } },
        };
        return Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest { CollectionName = "sparse_docs", NumRows = 1, FieldsData = { Long("id", 1), column } })).Status);
    }

    private static async Task<Answer> SparseIndexAsync(Servers s, string field, string type, string metric, string paramsJson = "{}")
    {
        await EnsureSparseAsync(s.Plain);
        return Answer.Of(await s.Plain.Milvus.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = field == "s" ? "sparse_docs" : "docs",
            FieldName = field,
            ExtraParams = { Kv("index_type", type), Kv("metric_type", metric), Kv("params", paramsJson) },
        }));
    }

    private static async Task<Answer> SparseSearchAsync(Servers s, Protocol.Common.PlaceholderType type, ByteString query, string paramsJson)
    {
        await EnsureSparseAsync(s.Plain);
        await s.Plain.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "sparse_docs" });
        var placeholder = new Protocol.Common.PlaceholderValue { Tag = "$0", Type = type, Values = { query } };
        var response = await s.Plain.Milvus.SearchAsync(new Protocol.Milvus.SearchRequest
        {
            CollectionName = "sparse_docs",
            Nq = 1,
            DslType = Protocol.Common.DslType.BoolExprV1,
            PlaceholderGroup = new Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString(),
            SearchParams = { Kv("anns_field", "s"), Kv("topk", "3"), Kv("params", paramsJson) },
        });
        return Answer.Of(response.Status);
    }

    /// <summary>A search of the sparse field by primary keys instead of query vectors.</summary>
    private static async Task<Answer> SparseSearchByIdsAsync(Servers s)
    {
        await EnsureSparseAsync(s.Plain);
        await s.Plain.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "sparse_docs" });
        var response = await s.Plain.Milvus.SearchAsync(new Protocol.Milvus.SearchRequest
        {
            CollectionName = "sparse_docs",
            DslType = Protocol.Common.DslType.BoolExprV1,
            Ids = new IDs { IntId = new LongArray { Data = { 1 } } },
            SearchParams = { Kv("anns_field", "s"), Kv("topk", "3"), Kv("params", "{}") },
        });
        return Answer.Of(response.Status);
    }

    private static Dictionary<string, Func<Servers, Task<Answer>>> SparseCases() => new(StringComparer.Ordinal)
    {
        ["sparse-indices-unsorted"] = s => SparseInsertAsync(s, SparsePairs((5, 1), (2, 1))),
        ["sparse-index-repeated"] = s => SparseInsertAsync(s, SparsePairs((5, 1), (5, 2))),
        ["sparse-index-out-of-range"] = s => SparseInsertAsync(s, SparsePairs((uint.MaxValue, 1))),
        ["sparse-value-negative"] = s => SparseInsertAsync(s, SparsePairs((1, -0.5f))),
        ["sparse-value-not-finite"] = s => SparseInsertAsync(s, SparsePairs((1, float.NaN))),
        ["sparse-row-bytes"] = s => SparseInsertAsync(s, ByteString.CopyFrom(1, 2, 3)),
        ["sparse-index-metric"] = s => SparseIndexAsync(s, "s", "SPARSE_INVERTED_INDEX", "L2"),
        ["sparse-index-type"] = s => SparseIndexAsync(s, "s", "HNSW", "IP"),
        ["sparse-index-algo"] = s => SparseIndexAsync(s, "s", "SPARSE_INVERTED_INDEX", "IP", """{"inverted_index_algo": "BLOCK_MAX"}"""),
        ["sparse-drop-ratio"] = s => SparseSearchAsync(s, Protocol.Common.PlaceholderType.SparseFloatVector, SparsePairs((1, 1)), """{"drop_ratio_search": 1.5}"""),
        ["sparse-query-type"] = s => SparseSearchAsync(s, Protocol.Common.PlaceholderType.FloatVector, ByteString.CopyFrom(new byte[16]), "{}"),
        ["sparse-search-by-ids"] = SparseSearchByIdsAsync,
    };
}
