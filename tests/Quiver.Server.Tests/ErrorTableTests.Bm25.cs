using Google.Protobuf;
using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The BM25 rows of docs/errors.md: a collection <c>fulltext</c> (Int64 key, analyzed VarChar <c>text</c>, sparse
/// <c>sparse</c> written by BM25 function <c>bm25</c>, made on first use) and the request of each case.</summary>
public sealed partial class ErrorTableTests
{
    private static async Task EnsureFullTextAsync(TestServer server)
    {
        // Created by the first BM25 case (the table runs on one server; "already exists" is fine after that).
        await server.Milvus.CreateCollectionAsync(CreateWithBm25("fulltext", enableAnalyzer: true));
        await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "fulltext" });
    }

    /// <summary>A create of (id, text VarChar 65,535, sparse) with a BM25 function from text to sparse.</summary>
    private static CreateCollectionRequest CreateWithBm25(string name, bool enableAnalyzer)
    {
        var text = Field("text", ProtoType.VarChar, typeParams: ("max_length", "65535"));
        if (enableAnalyzer)
        {
            text.TypeParams.Add(Kv("enable_analyzer", "true"));
        }

        var schema = new Protocol.Schema.CollectionSchema
        {
            Name = name,
            Fields = { Field("id", ProtoType.Int64, primary: true), text, Field("sparse", ProtoType.SparseFloatVector) },
            Functions =
            {
                new Protocol.Schema.FunctionSchema
                {
                    Name = "bm25", Type = Protocol.Schema.FunctionType.Bm25, InputFieldNames = { "text" }, OutputFieldNames = { "sparse" },
                },
            },
        };
        return new CreateCollectionRequest { CollectionName = name, Schema = schema.ToByteString(), ShardsNum = 1 };
    }

    private static async Task<Answer> Bm25IndexAsync(Servers s, string metric, string paramsJson)
    {
        await EnsureFullTextAsync(s.Plain);
        return Answer.Of(await s.Plain.Milvus.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = "fulltext",
            FieldName = "sparse",
            ExtraParams = { Kv("index_type", "SPARSE_INVERTED_INDEX"), Kv("metric_type", metric), Kv("params", paramsJson) },
        }));
    }

    private static async Task<Answer> Bm25VectorSearchAsync(Servers s)
    {
        await EnsureFullTextAsync(s.Plain);
        return await SparseSearchOfAsync(s.Plain, "fulltext", "sparse", SparsePairs((1, 1)));
    }

    private static async Task<Answer> SparseSearchOfAsync(TestServer server, string collection, string field, ByteString query)
    {
        var placeholder = new Protocol.Common.PlaceholderValue { Tag = "$0", Type = Protocol.Common.PlaceholderType.SparseFloatVector, Values = { query } };
        var response = await server.Milvus.SearchAsync(new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            Nq = 1,
            DslType = Protocol.Common.DslType.BoolExprV1,
            PlaceholderGroup = new Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString(),
            SearchParams = { Kv("anns_field", field), Kv("topk", "3"), Kv("params", "{}") },
        });
        return Answer.Of(response.Status);
    }

    private static Dictionary<string, Func<Servers, Task<Answer>>> Bm25Cases() => new(StringComparer.Ordinal)
    {
        ["bm25-input-without-analyzer"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateWithBm25("bm25_plain", enableAnalyzer: false))),
        ["bm25-index-metric"] = s => Bm25IndexAsync(s, "IP", "{}"),
        ["bm25-index-params"] = s => Bm25IndexAsync(s, "BM25", """{"bm25_k1": 5}"""),
        ["bm25-search-with-vector"] = Bm25VectorSearchAsync,
    };
}
