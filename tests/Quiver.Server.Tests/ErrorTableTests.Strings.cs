using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md for strings that are not valid: gRPC carries UTF-8, but a filter's <c>\uD800</c>
/// escape and a JSON value's <c>"\uD800"</c> escape both decode to an unpaired UTF-16 surrogate (the filter fuzzer found
/// the first answering 65535).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the invalid-string cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithStringCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        cases.Add("filter-unpaired-surrogate", s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "price > 0 and tag == \"\\uD800\"",
            QueryParams = { Kv("limit", "1") },
        }));
        cases.Add("json-unpaired-surrogate", async s => Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "notes",
            NumRows = 1,
            FieldsData = { Long("id", 1), Json("meta", "{\"tag\": \"\\uDC00\"}"), Vectors("embedding", Servers.Dim, [1, 2, 3, 4]) },
        })).Status));
        cases.Add("search-params-unpaired-surrogate", s => SearchAsync(s.Plain, Search(paramsJson: "{\"ef\": \"\\uDC00\"}")));
        cases.Add("index-params-unpaired-surrogate", async s => Answer.Of(await s.Plain.Milvus.CreateIndexAsync(Index("embedding", "L2", "{\"\\uD800\": 16}"))));
        cases.Add("analyzer-params-unpaired-surrogate", async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest
        {
            AnalyzerParams = "{\"type\": \"\\uD800\"}",
            Placeholder = { Google.Protobuf.ByteString.CopyFromUtf8("some text") },
        })).Status));
        cases.Add("rank-params-unpaired-surrogate", s => HybridAsync(s.Plain, Kv("strategy", "rrf"), Kv("params", "{\"\\uD800\": 1}")));
        cases.Add("template-json-unpaired-surrogate", s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "price > 0",
            QueryParams = { Kv("limit", "1") },
            ExprTemplateValues =
            {
                ["unused"] = new TemplateValue
                {
                    ArrayVal = new TemplateArrayValue { JsonData = new JSONArray { Data = { Google.Protobuf.ByteString.CopyFromUtf8("\"\\uD800\"") } } },
                },
            },
        }));
        return cases;
    }
}
