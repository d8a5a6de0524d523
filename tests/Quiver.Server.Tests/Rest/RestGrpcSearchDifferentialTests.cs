using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (one data path): a REST search is read from its JSON straight into the values the Milvus rules take, while a
/// gRPC search still arrives as Milvus's message. The gRPC server is the oracle: on one collection with a field of every
/// vector type, each search is sent both ways (REST as a client writes the body, gRPC as the SDKs encode the request:
/// placeholder bytes, <c>search_params</c> pairs with a <c>params</c> JSON, <c>expr_template_values</c>) and must answer
/// the same hits, scores, counts and output values, or the same refusal (code and message): every vector type, filters
/// with templates, partitions, group-by, offset, output fields, range search parameters, and hybrid searches fused by RRF
/// and by weights.
/// </summary>
public sealed class RestGrpcSearchDifferentialTests
{
    private const string Name = "diff";
    private const int Rows = 120, Dim = 8, BinaryDim = 16;

    /// <summary>One logical search, written both ways.</summary>
    private sealed record Search(string Field, object[] Queries)
    {
        public int Limit { get; init; } = 7;
        public int Offset { get; init; }
        public string? Filter { get; init; }
        public Dictionary<string, object>? Templates { get; init; }
        public string[]? Partitions { get; init; }
        public string[]? Outputs { get; init; }
        public string? GroupBy { get; init; }
        public int GroupSize { get; init; }
        public string? Metric { get; init; }
        public JsonObject? Params { get; init; }
    }

    [Fact]
    public async Task EverySearchForm_AnswersOverRestAsOverGrpc_HitsAndRefusals()
    {
        await using var server = await TestServer.StartAsync();
        var rng = new Random(61);
        await CreateAsync(server, rng);

        var cases = new List<Search>();
        foreach (var field in new[] { "fv", "h", "bh", "i8", "b", "sp" })
        {
            var queries = Enumerable.Range(0, 3).Select(_ => Query(field, rng)).ToArray();
            cases.Add(new Search(field, queries));
            cases.Add(new Search(field, queries[..2]) { Limit = 4, Offset = 3, Outputs = ["tag", "name"] });
            cases.Add(new Search(field, queries[..1]) { Filter = "tag in {tags} and id > {low}", Templates = new() { ["tags"] = new long[] { 1, 2, 5 }, ["low"] = 10L } });
            cases.Add(new Search(field, queries[..1]) { Partitions = ["p1"], Outputs = ["name"] });
        }
        var q = Query("fv", rng);
        cases.AddRange(
        [
            new Search("fv", [q]) { GroupBy = "tag", GroupSize = 2, Limit = 3, Outputs = ["tag"] },
            new Search("fv", [q]) { GroupBy = "tag", Limit = 4 },
            new Search("fv", [q]) { Filter = "name like \"n1%\" or name in {names}", Templates = new() { ["names"] = new[] { "n7", "n8" } }, Outputs = ["*"] },
            new Search("fv", [q]) { Params = new JsonObject { ["radius"] = 40.0, ["range_filter"] = 10.0 }, Limit = 20 },
            new Search("h", [Query("h", rng)]) { Params = new JsonObject { ["radius"] = 30.0 }, Limit = 20, Metric = "L2" },
            new Search("fv", [q]) { Params = new JsonObject { ["ef"] = 32 }, Metric = "L2", Filter = "tag == {t}", Templates = new() { ["t"] = 3L } },
            new Search("fv", [q]) { Filter = "tag > {t}", Templates = new() { ["t"] = 2.5 } },
            // Refusals the rules make, whichever transport read the search.
            new Search("fv", [q]) { Filter = "tag >>> 1" },
            new Search("fv", [q]) { Filter = "tag in {t}", Templates = new() { ["t"] = "x" } },
            new Search("fv", [q]) { Outputs = ["nope"] },
            new Search("fv", [q]) { Limit = 16_000, Offset = 1_000 },
            new Search("fv", [q]) { Metric = "IP" },
            new Search("fv", [q]) { GroupBy = "nope" },
            new Search("fv", [q]) { Partitions = ["p9"] },
            new Search("fv", [q]) { Params = new JsonObject { ["radius"] = "far" } },
            new Search("sp", [Query("sp", rng)]) { Metric = "L2" },
        ]);

        var refused = new List<string>();
        foreach (var search in cases)
        {
            var expected = await server.Milvus.SearchAsync(GrpcOf(search));
            var actual = await RestFloatCollection.PostAsync(server, "/entities/search", RestOf(search).ToJsonString());
            if (!Same(search, expected, actual))
            {
                refused.Add($"{expected.Status.Code} {expected.Status.Reason}");
            }
        }
        // The other cases answer hits (the comparison is not of refusals alone); the refusal cases are refused both ways.
        Assert.True(refused.Count == 9, string.Join("\n", refused));

        // Hybrid searches: RRF and weighted, with output fields, a partition, an offset, grouping; and refusals.
        var subs = new[] { new Search("fv", [q]) { Limit = 10 }, new Search("h", [Query("h", rng)]) { Limit = 10, Filter = "tag < 20" }, new Search("sp", [Query("sp", rng)]) { Limit = 10 } };
        var hybrids = new (Search[] Subs, string Strategy, JsonObject Params, int Limit, int Offset, string[] Partitions, string? GroupBy)[]
        {
            (subs, "rrf", new JsonObject { ["k"] = 30 }, 6, 0, [], null),
            (subs[..2], "weighted", new JsonObject { ["weights"] = new JsonArray(0.7, 0.3) }, 5, 2, ["p1"], null),
            (subs[1..], "weighted", new JsonObject { ["weights"] = new JsonArray(0.5, 0.5), ["norm_score"] = true }, 4, 0, [], "tag"),
            (subs, "rrf", new JsonObject(), 8, 1, [], null),
            (subs[..2], "weighted", new JsonObject { ["weights"] = new JsonArray(1.0) }, 5, 0, [], null),
            (subs[..2], "best", new JsonObject(), 5, 0, [], null),
            (subs[..2], "weighted", new JsonObject(), 5, 0, [], null),
            (subs[..2], "rrf", new JsonObject { ["k"] = "x" }, 5, 0, [], null),
            (subs[..2], "rrf", new JsonObject(), 0, 0, [], null),
        };
        var fusedRefused = new List<string>();
        foreach (var (hybridSubs, strategy, parameters, limit, offset, partitions, groupBy) in hybrids)
        {
            var grpc = new HybridSearchRequest { CollectionName = Name, OutputFields = { "tag", "name" }, PartitionNames = { partitions } };
            grpc.Requests.Add(hybridSubs.Select(GrpcOf));
            grpc.RankParams.Add(Kv("strategy", strategy));
            grpc.RankParams.Add(Kv("params", parameters.ToJsonString()));
            grpc.RankParams.Add(Kv("limit", limit.ToString(CultureInfo.InvariantCulture)));
            grpc.RankParams.Add(Kv("offset", offset.ToString(CultureInfo.InvariantCulture)));
            grpc.RankParams.Add(Kv("round_decimal", "-1"));
            var rest = new JsonObject
            {
                ["collectionName"] = Name,
                ["search"] = new JsonArray([.. hybridSubs.Select(s => (JsonNode?)Sub(RestOf(s)))]),
                ["rerank"] = new JsonObject { ["strategy"] = strategy, ["params"] = parameters.DeepClone() },
                ["limit"] = limit,
                ["offset"] = offset,
                ["outputFields"] = new JsonArray("tag", "name"),
                ["partitionNames"] = new JsonArray([.. partitions.Select(p => (JsonNode?)p)]),
            };
            if (groupBy is not null)
            {
                grpc.RankParams.Add(Kv("group_by_field", groupBy));
                rest["groupingField"] = groupBy;
            }
            var expected = await server.Milvus.HybridSearchAsync(grpc);
            var actual = await RestFloatCollection.PostAsync(server, "/entities/hybrid_search", rest.ToJsonString());
            if (!Same(new Search("hybrid " + strategy, []) { Outputs = ["tag", "name"] }, expected, actual))
            {
                fusedRefused.Add($"{expected.Status.Code} {expected.Status.Reason}");
            }
        }
        Assert.True(fusedRefused.Count == 5, string.Join("\n", fusedRefused));

        static JsonObject Sub(JsonObject body)
        {
            body.Remove("collectionName");
            body.Remove("outputFields");
            body.Remove("partitionNames");
            return body;
        }
    }

    /// <summary>Asserts the REST answer equals the gRPC answer (hits, scores, counts, output values) or its refusal;
    /// true when both answered hits.</summary>
    private static bool Same(Search search, SearchResults expected, JsonObject actual)
    {
        var code = actual["code"]!.GetValue<int>();
        if (expected.Status.Code != 0)
        {
            Assert.True((expected.Status.Code, expected.Status.Reason) == (code, actual["message"]?.GetValue<string>()),
                $"{search}: gRPC refused {expected.Status.Code} '{expected.Status.Reason}', REST answered {actual.ToJsonString()}");
            return false;
        }

        Assert.True(code == 0, $"{search}: gRPC answered, REST refused {actual.ToJsonString()}");
        var results = expected.Results;
        var rows = actual["data"]!.AsArray();
        Assert.Equal(results.Topks.Select(k => (long)k), actual["topks"]!.AsArray().Select(k => k!.GetValue<long>()));
        Assert.Equal(results.Ids.IntId.Data.Count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i]!;
            Assert.Equal(results.Ids.IntId.Data[i], long.Parse(row["id"]!.ToString(), CultureInfo.InvariantCulture));
            Assert.Equal(results.Scores[i], row["distance"]!.GetValue<float>());
            foreach (var column in results.FieldsData.Where(c => c.FieldName is "tag" or "name"))
            {
                var value = column.FieldName == "tag"
                    ? column.Scalars.LongData.Data[i].ToString(CultureInfo.InvariantCulture)
                    : column.Scalars.StringData.Data[i];
                Assert.True(value == row[column.FieldName]?.ToString(), $"{search}: row {i} {column.FieldName} {value} over gRPC, {row.ToJsonString()} over REST");
            }
        }

        return true;
    }

    private static async Task CreateAsync(TestServer server, Random rng)
    {
        await RestFloatCollection.PostOkAsync(server, "/collections/create", $$$"""
            {"collectionName": "{{{Name}}}", "schema": {"fields": [
              {"fieldName": "id", "dataType": "Int64", "isPrimary": true},
              {"fieldName": "tag", "dataType": "Int64"},
              {"fieldName": "name", "dataType": "VarChar", "elementTypeParams": {"max_length": 16}},
              {"fieldName": "fv", "dataType": "FloatVector", "elementTypeParams": {"dim": {{{Dim}}}}},
              {"fieldName": "h", "dataType": "Float16Vector", "elementTypeParams": {"dim": {{{Dim}}}}},
              {"fieldName": "bh", "dataType": "BFloat16Vector", "elementTypeParams": {"dim": {{{Dim}}}}},
              {"fieldName": "i8", "dataType": "Int8Vector", "elementTypeParams": {"dim": {{{Dim}}}}},
              {"fieldName": "b", "dataType": "BinaryVector", "elementTypeParams": {"dim": {{{BinaryDim}}}}},
              {"fieldName": "sp", "dataType": "SparseFloatVector"}]},
             "indexParams": [
              {"fieldName": "fv", "indexName": "fv", "metricType": "L2", "indexType": "FLAT"},
              {"fieldName": "h", "indexName": "h", "metricType": "L2", "indexType": "FLAT"},
              {"fieldName": "bh", "indexName": "bh", "metricType": "IP", "indexType": "FLAT"},
              {"fieldName": "i8", "indexName": "i8", "metricType": "L2", "indexType": "HNSW", "params": {"M": 8, "efConstruction": 64}},
              {"fieldName": "b", "indexName": "b", "metricType": "HAMMING", "indexType": "BIN_FLAT"},
              {"fieldName": "sp", "indexName": "sp", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"}]}
            """);
        Assert.Equal(0, (await server.Milvus.ReleaseCollectionAsync(new ReleaseCollectionRequest { CollectionName = Name })).Code);
        Assert.Equal(0, (await server.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = Name, PartitionName = "p1" })).Code);
        foreach (var partition in new[] { "_default", "p1" })
        {
            var data = new JsonArray();
            for (var i = 0; i < Rows / 2; i++)
            {
                var id = partition == "p1" ? Rows / 2 + i : i;
                data.Add(new JsonObject
                {
                    ["id"] = id,
                    ["tag"] = id % 7,
                    ["name"] = "n" + id.ToString(CultureInfo.InvariantCulture),
                    ["fv"] = Json(Query("fv", rng)),
                    ["h"] = Json(Query("h", rng)),
                    ["bh"] = Json(Query("bh", rng)),
                    ["i8"] = Json(Query("i8", rng)),
                    ["b"] = Json(Query("b", rng)),
                    ["sp"] = Json(Query("sp", rng)),
                });
            }
            await RestFloatCollection.PostOkAsync(server, "/entities/insert",
                new JsonObject { ["collectionName"] = Name, ["partitionName"] = partition, ["data"] = data }.ToJsonString());
        }
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = Name })).Code);
    }

    /// <summary>A random query (or row value) of a field: components every vector type holds exactly (multiples of
    /// 0.25 in [-4, 4]), so that numbers and wire bytes carry the same bits; int8 as integers, binary as bytes; sparse as
    /// index-value pairs.</summary>
    private static object Query(string field, Random rng) => field switch
    {
        "fv" or "h" or "bh" => Enumerable.Range(0, Dim).Select(_ => rng.Next(-16, 17) / 4f).ToArray(),
        "i8" => Enumerable.Range(0, Dim).Select(_ => rng.Next(-128, 128)).ToArray(),
        "b" => Enumerable.Range(0, BinaryDim / 8).Select(_ => (byte)rng.Next(256)).ToArray(),
        _ => Enumerable.Range(0, 30).OrderBy(_ => rng.Next()).Take(rng.Next(1, 5)).Order().ToDictionary(i => (uint)i, _ => rng.Next(1, 9) / 4f),
    };

    /// <summary>A value as a REST client writes it (also a filter template value).</summary>
    internal static JsonNode Json(object value) => value switch
    {
        float[] floats => new JsonArray([.. floats.Select(x => (JsonNode?)x)]),
        int[] ints => new JsonArray([.. ints.Select(x => (JsonNode?)x)]),
        byte[] bytes => new JsonArray([.. bytes.Select(x => (JsonNode?)(int)x)]),
        Dictionary<uint, float> sparse => new JsonObject(sparse.Select(p => System.Collections.Generic.KeyValuePair.Create(p.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)p.Value))),
        long[] longs => new JsonArray([.. longs.Select(x => (JsonNode?)x)]),
        string[] strings => new JsonArray([.. strings.Select(x => (JsonNode?)x)]),
        long l => l,
        double d => d,
        string s => s,
        _ => throw new ArgumentException(value.GetType().Name),
    };

    /// <summary>The search as a REST body, as a client writes it.</summary>
    private static JsonObject RestOf(Search search)
    {
        var body = new JsonObject
        {
            ["collectionName"] = Name,
            ["annsField"] = search.Field,
            ["data"] = new JsonArray([.. search.Queries.Select(Json)]),
            ["limit"] = search.Limit,
        };
        if (search.Offset != 0)
        {
            body["offset"] = search.Offset;
        }
        if (search.Filter is { } filter)
        {
            body["filter"] = filter;
        }
        if (search.Templates is { } templates)
        {
            body["exprParams"] = new JsonObject(templates.Select(t => System.Collections.Generic.KeyValuePair.Create(t.Key, (JsonNode?)Json(t.Value))));
        }
        if (search.Partitions is { } partitions)
        {
            body["partitionNames"] = new JsonArray([.. partitions.Select(p => (JsonNode?)p)]);
        }
        if (search.Outputs is { } outputs)
        {
            body["outputFields"] = new JsonArray([.. outputs.Select(o => (JsonNode?)o)]);
        }
        if (search.GroupBy is { } groupBy)
        {
            body["groupingField"] = groupBy;
            if (search.GroupSize > 0)
            {
                body["groupSize"] = search.GroupSize;
            }
        }
        if (search.Metric is not null || search.Params is not null)
        {
            var searchParams = new JsonObject { ["params"] = search.Params?.DeepClone() ?? new JsonObject() };
            if (search.Metric is { } metric)
            {
                searchParams["metricType"] = metric;
            }
            body["searchParams"] = searchParams;
        }
        return body;
    }

    /// <summary>The search as Milvus's SDKs send it over gRPC.</summary>
    private static Protocol.Milvus.SearchRequest GrpcOf(Search search)
    {
        var placeholder = new PlaceholderValue { Tag = "$0", Type = search.Field switch
        {
            "fv" => PlaceholderType.FloatVector,
            "h" => PlaceholderType.Float16Vector,
            "bh" => PlaceholderType.Bfloat16Vector,
            "i8" => PlaceholderType.Int8Vector,
            "b" => PlaceholderType.BinaryVector,
            _ => PlaceholderType.SparseFloatVector,
        } };
        foreach (var query in search.Queries)
        {
            placeholder.Values.Add(ByteString.CopyFrom(Bytes(search.Field, query)));
        }
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = Name,
            Nq = search.Queries.Length,
            DslType = DslType.BoolExprV1,
            Dsl = search.Filter ?? "",
            PlaceholderGroup = new PlaceholderGroup { Placeholders = { placeholder } }.ToByteString(),
            PartitionNames = { search.Partitions ?? [] },
            OutputFields = { search.Outputs ?? [] },
            SearchParams =
            {
                Kv("anns_field", search.Field),
                Kv("topk", search.Limit.ToString(CultureInfo.InvariantCulture)),
                Kv("offset", search.Offset.ToString(CultureInfo.InvariantCulture)),
                Kv("params", search.Params?.ToJsonString() ?? "{}"),
                Kv("round_decimal", "-1"),
            },
        };
        if (search.Metric is { } metric)
        {
            request.SearchParams.Add(Kv("metric_type", metric));
        }
        if (search.GroupBy is { } groupBy)
        {
            request.SearchParams.Add(Kv("group_by_field", groupBy));
            if (search.GroupSize > 0)
            {
                request.SearchParams.Add(Kv("group_size", search.GroupSize.ToString(CultureInfo.InvariantCulture)));
            }
        }
        foreach (var (name, value) in search.Templates ?? [])
        {
            request.ExprTemplateValues[name] = Template(value);
        }
        return request;
    }

    /// <summary>A filter template value as Milvus's SDKs send it over gRPC.</summary>
    internal static Protocol.Schema.TemplateValue Template(object value) => value switch
    {
        long l => new Protocol.Schema.TemplateValue { Int64Val = l },
        double d => new Protocol.Schema.TemplateValue { FloatVal = d },
        string s => new Protocol.Schema.TemplateValue { StringVal = s },
        long[] longs => new Protocol.Schema.TemplateValue { ArrayVal = new Protocol.Schema.TemplateArrayValue { LongData = new Protocol.Schema.LongArray { Data = { longs } } } },
        string[] strings => new Protocol.Schema.TemplateValue { ArrayVal = new Protocol.Schema.TemplateArrayValue { StringData = new Protocol.Schema.StringArray { Data = { strings } } } },
        _ => throw new ArgumentException(value.GetType().Name),
    };

    /// <summary>A query's wire bytes, as the SDKs encode each type.</summary>
    private static byte[] Bytes(string field, object query)
    {
        switch (query)
        {
            case float[] floats when field == "fv":
                return [.. floats.SelectMany(BitConverter.GetBytes)];
            case float[] floats:
                var bytes = new byte[floats.Length * 2];
                for (var i = 0; i < floats.Length; i++)
                {
                    var bits = field == "bh" ? (ushort)(BitConverter.SingleToUInt32Bits(floats[i]) >> 16) : BitConverter.HalfToUInt16Bits((Half)floats[i]);
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), bits);
                }
                return bytes;
            case int[] signed:
                return [.. signed.Select(x => unchecked((byte)(sbyte)x))];
            case byte[] raw:
                return raw;
            case Dictionary<uint, float> sparse:
                var pairs = new byte[sparse.Count * 8];
                var at = 0;
                foreach (var (index, value) in sparse.OrderBy(p => p.Key))
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(pairs.AsSpan(at), index);
                    BinaryPrimitives.WriteSingleLittleEndian(pairs.AsSpan(at + 4), value);
                    at += 8;
                }
                return pairs;
            default:
                throw new ArgumentException(query.GetType().Name);
        }
    }

    private static KeyValuePair Kv(string key, string value) => new() { Key = key, Value = value };
}
