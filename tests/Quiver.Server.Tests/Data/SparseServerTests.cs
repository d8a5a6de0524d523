using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Rest;
using Quiver.Testing;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Data;

/// <summary>Sparse vectors over gRPC and REST: create, insert, query back equal, search equal to the brute-force
/// oracle, and the refusals of bad rows.</summary>
public sealed class SparseServerTests
{
    private const int Rows = 300;

    private static List<SparseVector> Data(int seed = 8)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, Rows).Select(_ => SparseData.Vector(rng, vocabulary: 400, minEntries: 2, maxEntries: 20))];
    }

    private static FieldData SparseColumn(string name, IEnumerable<SparseVector> rows) => new()
    {
        FieldName = name,
        Type = ProtoType.SparseFloatVector,
        Vectors = Wire.SparseVectors.Write([.. rows]),
    };

    internal static async Task CreateAsync(TestServer server, string name, string? indexType = "SPARSE_INVERTED_INDEX")
    {
        var schema = new Protocol.Schema.CollectionSchema
        {
            Name = name,
            Fields =
            {
                new Protocol.Schema.FieldSchema { FieldID = 100, Name = "id", DataType = ProtoType.Int64, IsPrimaryKey = true },
                new Protocol.Schema.FieldSchema { FieldID = 101, Name = "sparse", DataType = ProtoType.SparseFloatVector },
            },
        };
        var created = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = name, Schema = schema.ToByteString() });
        Assert.Equal(0, created.Code);
        if (indexType is not null)
        {
            var index = await server.Milvus.CreateIndexAsync(new CreateIndexRequest
            {
                CollectionName = name,
                FieldName = "sparse",
                ExtraParams = { Kv("index_type", indexType), Kv("metric_type", "IP"), Kv("params", """{"inverted_index_algo": "DAAT_WAND"}""") },
            });
            Assert.Equal(0, index.Code);
        }

        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name })).Code);
    }

    private static Protocol.Milvus.SearchRequest Search(string collection, IReadOnlyList<SparseVector> queries, int topk)
    {
        var placeholder = new Protocol.Common.PlaceholderValue { Tag = "$0", Type = Protocol.Common.PlaceholderType.SparseFloatVector };
        foreach (var q in queries)
        {
            placeholder.Values.Add(ByteString.CopyFrom(q.ToBytes()));
        }

        return new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            Nq = queries.Count,
            DslType = Protocol.Common.DslType.BoolExprV1,
            PlaceholderGroup = new Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString(),
            SearchParams =
            {
                Kv("anns_field", "sparse"), Kv("topk", topk.ToString(CultureInfo.InvariantCulture)), Kv("metric_type", "IP"),
                Kv("params", """{"drop_ratio_search": 0}"""),
            },
            OutputFields = { "sparse" },
        };
    }

    [Fact]
    public async Task Grpc_InsertQuerySearch_RoundTripExactly()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "sp");
        var data = Data();
        var half = Rows / 2;
        foreach (var (start, count) in new[] { (0, half), (half, Rows - half) })
        {
            var r = await server.Milvus.InsertAsync(new InsertRequest
            {
                CollectionName = "sp",
                NumRows = (uint)count,
                FieldsData = { Long("id", [.. Enumerable.Range(start, count).Select(i => (long)i)]), SparseColumn("sparse", data.Skip(start).Take(count)) },
            });
            Assert.Equal(0, r.Status.Code);
            if (start == 0)
            {
                Assert.Equal(0, (await server.Milvus.FlushAsync(new FlushRequest { CollectionNames = { "sp" } })).Status.Code);
            }
        }

        var query = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "sp", Expr = "id >= 0", OutputFields = { "sparse" } });
        Assert.Equal(0, query.Status.Code);
        var ids = query.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data;
        var sparse = query.FieldsData.Single(f => f.FieldName == "sparse");
        Assert.Equal(ProtoType.SparseFloatVector, sparse.Type);
        Assert.Equal(Rows, sparse.Vectors.SparseFloatVector.Contents.Count);
        Assert.Equal(data.Max(v => v.Dimension), sparse.Vectors.Dim);
        for (var i = 0; i < ids.Count; i++)
        {
            Assert.Equal(data[(int)ids[i]].ToBytes(), sparse.Vectors.SparseFloatVector.Contents[i].ToByteArray());
        }

        var rng = new Random(3);
        var queries = Enumerable.Range(0, 5).Select(_ => SparseData.Vector(rng, vocabulary: 400, minEntries: 2, maxEntries: 10)).ToList();
        var result = await server.Milvus.SearchAsync(Search("sp", queries, 10));
        Assert.Equal(0, result.Status.Code);
        var at = 0;
        for (var q = 0; q < queries.Count; q++)
        {
            var expected = SparseData.TopK(data.Select((v, i) => ((long)i, v)), queries[q], 10);
            Assert.Equal(expected.Count, result.Results.Topks[q]);
            for (var i = 0; i < expected.Count; i++, at++)
            {
                Assert.Equal(expected[i].Score, result.Results.Scores[at], 1e-4);
                Assert.Equal(expected[i].Id, result.Results.Ids.IntId.Data[at]);
                Assert.Equal(data[(int)expected[i].Id].ToBytes(), result.Results.FieldsData.Single(f => f.FieldName == "sparse").Vectors.SparseFloatVector.Contents[at].ToByteArray());
            }
        }
    }

    [Fact]
    public async Task Grpc_BadRows_AreRefusedWith1100NamingTheRow()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "sp", indexType: null);
        static ByteString Pairs(params (uint Index, float Value)[] pairs)
        {
            var bytes = new byte[pairs.Length * 8];
            for (var i = 0; i < pairs.Length; i++)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), pairs[i].Index);
                BitConverter.TryWriteBytes(bytes.AsSpan((i * 8) + 4), pairs[i].Value);
            }

            return ByteString.CopyFrom(bytes);
        }

        foreach (var (row, problem) in new[]
        {
            (Pairs((5, 1), (2, 1)), "ascending"),
            (Pairs((5, 1), (5, 2)), "appears twice"),
            (Pairs((1, -1)), "negative"),
            (Pairs((1, float.NaN)), "finite"),
            (Pairs((uint.MaxValue, 1)), "out of range"),
            (ByteString.CopyFrom(1, 2, 3), "8-byte"),
        })
        {
            var column = new FieldData
            {
                FieldName = "sparse",
                Type = ProtoType.SparseFloatVector,
                Vectors = new VectorField { Dim = 10, SparseFloatVector = new SparseFloatArray { Dim = 10, Contents = { Pairs((1, 1)), row } } },
            };
            var r = await server.Milvus.InsertAsync(new InsertRequest { CollectionName = "sp", NumRows = 2, FieldsData = { Long("id", [1, 2]), column } });
            Assert.Equal(1100, r.Status.Code);
            Assert.Contains(problem, r.Status.Reason, StringComparison.Ordinal);
            Assert.Contains("row 1", r.Status.Reason, StringComparison.Ordinal);
        }
    }

    private static async Task<JsonObject> PostAsync(TestServer server, string path, string body)
    {
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task Rest_CreateInsertQuerySearch_RoundTripExactly()
    {
        await using var server = await TestServer.StartAsync();
        var create = await PostAsync(server, "/collections/create", """
            {"collectionName": "sp", "schema": {"fields": [
              {"fieldName": "id", "dataType": "Int64", "isPrimary": true},
              {"fieldName": "sparse", "dataType": "SparseFloatVector"}]},
             "indexParams": [{"fieldName": "sparse", "indexName": "sparse", "metricType": "IP", "indexType": "SPARSE_WAND"}]}
            """);
        Assert.Equal(0, create["code"]!.GetValue<int>());
        var data = Data(9);
        var rows = new JsonArray();
        for (var i = 0; i < Rows; i++)
        {
            var v = new JsonObject();
            for (var j = 0; j < data[i].Count; j++)
            {
                v[data[i].Indices[j].ToString(CultureInfo.InvariantCulture)] = data[i].Values[j];
            }

            // Odd rows in the {"indices", "values"} form.
            JsonNode form = i % 2 == 0 ? v : new JsonObject
            {
                ["indices"] = new JsonArray([.. data[i].Indices.ToArray().Select(x => (JsonNode)x)]),
                ["values"] = new JsonArray([.. data[i].Values.ToArray().Select(x => (JsonNode)x)]),
            };
            rows.Add(new JsonObject { ["id"] = i, ["sparse"] = form });
        }

        var insert = await PostAsync(server, "/entities/insert", new JsonObject { ["collectionName"] = "sp", ["data"] = rows }.ToJsonString());
        Assert.Equal(0, insert["code"]!.GetValue<int>());
        var query = await PostAsync(server, "/entities/query", """{"collectionName": "sp", "filter": "id >= 0", "outputFields": ["sparse"], "limit": 1000}""");
        Assert.Equal(0, query["code"]!.GetValue<int>());
        foreach (var row in query["data"]!.AsArray())
        {
            var id = Id(row!["id"]!);
            var got = SparseVector.FromPairs(row["sparse"]!.AsObject().Select(p => new KeyValuePair<uint, float>(uint.Parse(p.Key, CultureInfo.InvariantCulture), p.Value!.GetValue<float>())));
            Assert.Equal(data[(int)id], got);
        }

        var q = SparseData.Vector(new Random(4), vocabulary: 400, minEntries: 3, maxEntries: 8);
        var qJson = new JsonObject();
        for (var j = 0; j < q.Count; j++)
        {
            qJson[q.Indices[j].ToString(CultureInfo.InvariantCulture)] = q.Values[j];
        }

        var search = await PostAsync(server, "/entities/search", new JsonObject
        {
            ["collectionName"] = "sp", ["annsField"] = "sparse", ["data"] = new JsonArray(qJson), ["limit"] = 10,
        }.ToJsonString());
        Assert.True(search["code"]!.GetValue<int>() == 0, search.ToJsonString());
        var hits = search["data"]!.AsArray();
        var expected = SparseData.TopK(data.Select((v, i) => ((long)i, v)), q, 10);
        Assert.Equal(expected.Select(e => e.Id), hits.Select(h => Id(h!["id"]!)));
        Assert.Equal(expected.Select(e => (float)e.Score), hits.Select(h => h!["distance"]!.GetValue<float>()), new Tolerance());

        var bad = await PostAsync(server, "/entities/insert", """{"collectionName": "sp", "data": [{"id": 1000, "sparse": {"indices": [4, 1], "values": [1, 1]}}]}""");
        Assert.NotEqual(0, bad["code"]!.GetValue<int>());
        Assert.Contains("ascending", bad["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>An Int64 as REST sends it (a string unless the client asks for numbers).</summary>
    private static long Id(JsonNode id) => long.Parse(id.ToString(), CultureInfo.InvariantCulture);

    private sealed class Tolerance : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= 1e-4 * Math.Max(1, Math.Abs(x));

        public int GetHashCode(float obj) => 0;
    }
}
