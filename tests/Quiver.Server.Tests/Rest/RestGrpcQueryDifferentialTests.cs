using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Testing;
using Quiver.Wire;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using WireQuery = Quiver.Protocol.Milvus.QueryRequest;
using WireSearch = Quiver.Protocol.Milvus.SearchRequest;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (one data path): REST query, get and delete are read from their JSON straight into the values the Milvus
/// rules take, and a REST search iterator page is written from the engine's columns, while gRPC still sends Milvus's
/// messages. The gRPC server is the oracle: each call is sent both ways and must answer the same rows (the gRPC answer
/// printed by the REST writer), counts and refusals (code and message), on collections with a field of every scalar type,
/// nulls, arrays, JSON and dynamic fields, keyed by Int64 and by VarChar.
/// </summary>
public sealed class RestGrpcQueryDifferentialTests
{
    private const int Rows = 120;

    /// <summary>One logical query, written both ways.</summary>
    private sealed record Query(string Collection = "q")
    {
        public string? Filter { get; init; }
        public Dictionary<string, object>? Templates { get; init; }
        public long? Limit { get; init; }
        public long Offset { get; init; }
        public string[]? Outputs { get; init; }
        public string[]? Partitions { get; init; }
        public string? Timezone { get; init; }
    }

    [Fact]
    public async Task QueriesGetsAndIteratorPages_AnswerOverRestAsOverGrpc_RowsAndRefusals()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "q", varcharKey: false);
        await CreateAsync(server, "qs", varcharKey: true);

        var queries = new Query[]
        {
            new() { Filter = "i32 > 700", Outputs = ["*"] },
            new() { Filter = "id >= 0", Limit = 5, Offset = 7, Outputs = ["name", "i64"] },
            new() { Filter = "i64 in {xs} or name in {names}", Templates = new() { ["xs"] = new[] { 3_000_000_000_021L, 5_000_000_000_035L }, ["names"] = new[] { "n9", "n90" } },
                Outputs = ["b", "i8", "i16", "f", "d"] },
            new() { Filter = "d < {mx} and b == true", Templates = new() { ["mx"] = 10.5 } },
            new() { Filter = "js[\"k\"] == 3", Outputs = ["js", "arr", "sarr"] },
            new() { Filter = "array_contains(arr, 2)", Outputs = ["arr"], Limit = 8 },
            new() { Filter = "nul is null", Outputs = ["nul", "extra"] },
            new() { Filter = "extra == 1", Outputs = ["extra", "dyn_s"] },
            new() { Outputs = ["count(*)"], Filter = "i32 > 100" },
            new() { Outputs = ["count(*)"] },
            new() { Limit = 10 },
            new() { Partitions = ["p1"], Filter = "i32 >= 0", Outputs = ["name"] },
            new() { Filter = "name like \"n1%\"", Timezone = "Asia/Tokyo", Outputs = ["name", "nul"] },
            new() { Filter = "i32 > 10", Limit = 0, Outputs = ["i32"] },
            new("qs") { Filter = "pk in {ks}", Templates = new() { ["ks"] = new[] { "k3", "k77", "nope" } } },
            new("qs") { Filter = "pk > \"k5\"", Limit = 4, Offset = 2, Outputs = ["pk", "name"] },
            // Refusals the rules make, whichever transport read the query.
            new() { Limit = 0 },
            new() { Filter = "i32 >>> 1" },
            new() { Filter = "id >= 0", Outputs = ["nope"] },
            new() { Outputs = ["count(*)", "name"] },
            new() { Filter = "id >= 0", Limit = 16_000, Offset = 1_000 },
            new() { Filter = "id >= 0", Partitions = ["p9"] },
            new() { Filter = "i32 in {t}", Templates = new() { ["t"] = "x" } },
            new() { Filter = "id >= 0", Timezone = "Mars/Base" },
            new() { Filter = "id >= 0", Limit = 3_000_000_000 },
            new("nope") { Filter = "id >= 0" },
        };
        var refused = new List<string>();
        foreach (var query in queries)
        {
            var expected = await server.Milvus.QueryAsync(GrpcOf(query));
            var actual = await RestFloatCollection.PostAsync(server, "/entities/query", RestOf(query).ToJsonString());
            if (!Same(query.ToString(), expected.Status, expected.FieldsData, expected.OutputFields, actual))
            {
                refused.Add($"{expected.Status.Code} {expected.Status.Reason}");
            }
        }
        // The other cases answer rows (the comparison is not of refusals alone; "nope" is a dynamic key); the refusal
        // cases are refused both ways.
        Assert.True(refused.Count == 9, string.Join("\n", refused));

        // Get by ids of both key types: a REST get is the query `pk in [...]` an SDK sends over gRPC.
        var gets = new (string Collection, JsonNode Ids, string[]? Outputs, string[]? Partitions)[]
        {
            ("q", new JsonArray(3, 17, 500), null, null),
            ("q", JsonValue.Create(5), ["name", "js"], null),
            ("q", new JsonArray(1, 2, 100), ["i32"], ["p1"]),
            ("qs", new JsonArray("k3", "k9"), null, null),
            ("qs", JsonValue.Create("k4"), ["i32", "extra"], null),
            ("nope", new JsonArray(1), null, null),
        };
        var getsRefused = 0;
        foreach (var (collection, ids, outputs, partitions) in gets)
        {
            JsonNode?[] keys = ids is JsonArray many ? [.. many] : [ids];
            var grpc = new WireQuery
            {
                CollectionName = collection,
                Expr = collection == "qs"
                    ? $"pk in [{string.Join(",", keys.Select(k => JsonSerializer.Serialize(k!.GetValue<string>())))}]"
                    : $"id in [{string.Join(",", keys.Select(k => k!.GetValue<int>()))}]",
                OutputFields = { outputs ?? ["*"] },
                PartitionNames = { partitions ?? [] },
            };
            var rest = new JsonObject { ["collectionName"] = collection, ["id"] = ids.DeepClone() };
            AddStrings(rest, "outputFields", outputs);
            AddStrings(rest, "partitionNames", partitions);
            var expected = await server.Milvus.QueryAsync(grpc);
            var actual = await RestFloatCollection.PostAsync(server, "/entities/get", rest.ToJsonString());
            getsRefused += Same($"get {collection} {ids.ToJsonString()}", expected.Status, expected.FieldsData, expected.OutputFields, actual) ? 0 : 1;
        }
        Assert.Equal(1, getsRefused);

        // Search iterator v2 pages: the next page is asked with the bound and token of the gRPC page before it.
        var vector = Vector(Rows + 7);
        float? bound = null;
        string? token = null;
        var pages = 0;
        var seen = 0;
        for (; pages < 20; pages++)
        {
            var expected = await server.Milvus.SearchAsync(IteratorGrpc(vector, bound, token));
            var actual = await RestFloatCollection.PostAsync(server, "/entities/search", IteratorRest(vector, bound, token).ToJsonString());
            var data = expected.Results;
            Assert.True(Same($"iterator page {pages}", expected.Status, data.FieldsData, data.OutputFields, actual, data), actual.ToJsonString());
            Assert.Equal(data.Topks.Select(k => (long)k), actual["topks"]!.AsArray().Select(k => k!.GetValue<long>()));
            if (data.Topks[0] == 0)
            {
                break;
            }
            seen += (int)data.Topks[0];
            (bound, token) = (data.SearchIteratorV2Results.LastBound, data.SearchIteratorV2Results.Token);
        }
        // The filter keeps 40 of the rows: 10 pages of 4, then an empty one.
        Assert.Equal((10, 40), (pages, seen));
    }

    [Fact]
    public async Task DeletesByIdsAndByFilter_DeleteOverRestAsOverGrpc_CountsRowsLeftAndRefusals()
    {
        await using var server = await TestServer.StartAsync();
        // Two collections of the same rows per key type: REST deletes from the first, gRPC from the second.
        foreach (var (name, varchar) in new[] { ("da", false), ("db", false), ("dsa", true), ("dsb", true) })
        {
            await CreateAsync(server, name, varchar);
        }

        var deletes = new (bool VarChar, JsonNode? Ids, string? Filter, Dictionary<string, object>? Templates, string? Partition, string? Collection)[]
        {
            (false, new JsonArray(1, 2, 3, 999), null, null, null, null),
            (false, JsonValue.Create(4), null, null, null, null),
            (false, null, "i32 < {t}", new() { ["t"] = 350L }, null, null),
            (false, null, "name like \"n7%\"", null, "p1", null),
            (false, null, "js[\"k\"] == 1 or extra == 2", null, null, null),
            (false, null, "id in [80, 81]", null, null, null),
            (true, new JsonArray("k10", "k11", "zz"), null, null, null, null),
            (true, null, "pk in {ks}", new() { ["ks"] = new[] { "k20", "k21" } }, null, null),
            // Refusals.
            (false, null, "i32 >>> 1", null, null, null),
            (false, null, "i32 in {t}", new() { ["t"] = "x" }, null, null),
            (false, null, "id >= 0", null, "p9", null),
            (false, null, "id >= 0", null, null, "nope"),
            (false, null, "   ", null, null, null),
        };
        var refused = new List<string>();
        foreach (var (varchar, ids, filter, templates, partition, collection) in deletes)
        {
            var (restName, grpcName) = collection is not null ? (collection, collection) : varchar ? ("dsa", "dsb") : ("da", "db");
            var rest = new JsonObject { ["collectionName"] = restName };
            var grpc = new DeleteRequest { CollectionName = grpcName, PartitionName = partition ?? "", Expr = filter ?? "" };
            if (ids is not null)
            {
                rest["id"] = ids.DeepClone();
                JsonNode?[] keys = ids is JsonArray many ? [.. many] : [ids];
                grpc.Expr = varchar
                    ? $"pk in [{string.Join(",", keys.Select(k => JsonSerializer.Serialize(k!.GetValue<string>())))}]"
                    : $"id in [{string.Join(",", keys.Select(k => k!.GetValue<int>()))}]";
            }
            if (filter is not null)
            {
                rest["filter"] = filter;
            }
            if (partition is not null)
            {
                rest["partitionName"] = partition;
            }
            if (templates is not null)
            {
                rest["exprParams"] = new JsonObject(templates.Select(t => System.Collections.Generic.KeyValuePair.Create(t.Key, (JsonNode?)RestGrpcSearchDifferentialTests.Json(t.Value))));
                foreach (var (key, value) in templates)
                {
                    grpc.ExprTemplateValues[key] = RestGrpcSearchDifferentialTests.Template(value);
                }
            }
            var expected = await server.Milvus.DeleteAsync(grpc);
            var actual = await RestFloatCollection.PostAsync(server, "/entities/delete", rest.ToJsonString());
            var code = actual["code"]!.GetValue<int>();
            if (expected.Status.Code != 0)
            {
                // The message names the collection the call was sent to.
                var reason = expected.Status.Reason.Replace($"'{grpcName}'", $"'{restName}'", StringComparison.Ordinal);
                Assert.True((expected.Status.Code, reason) == (code, actual["message"]?.GetValue<string>()),
                    $"{rest.ToJsonString()}: gRPC refused {expected.Status.Code} '{expected.Status.Reason}', REST answered {actual.ToJsonString()}");
                refused.Add(expected.Status.Reason);
                continue;
            }
            Assert.True(code == 0, $"{rest.ToJsonString()}: gRPC deleted, REST answered {actual.ToJsonString()}");
            Assert.Equal(expected.DeleteCnt, actual["data"]!["deleteCount"]!.GetValue<long>());
        }
        Assert.True(refused.Count == 5, string.Join("\n", refused));

        // What is left is the same row for row (and something was deleted).
        foreach (var (a, b, key) in new[] { ("da", "db", "id"), ("dsa", "dsb", "pk") })
        {
            var all = new Query(a) { Filter = key == "id" ? "id >= 0" : "pk >= \"\"", Outputs = ["*"] };
            var left = await server.Milvus.QueryAsync(GrpcOf(all));
            var other = await server.Milvus.QueryAsync(GrpcOf(all with { Collection = b }));
            Assert.Equal(0, left.Status.Code);
            Assert.Equal(Printed(other.FieldsData, other.OutputFields, null).ToJsonString(), Printed(left.FieldsData, left.OutputFields, null).ToJsonString());
            Assert.InRange(FieldDataReader.RowCount(left.FieldsData[0]), 1, Rows - 2);
        }
    }

    /// <summary>Asserts the REST answer equals the gRPC answer (its rows printed by the REST writer) or its refusal;
    /// true when both answered rows.</summary>
    private static bool Same(string what, Status expected, IReadOnlyList<FieldData> fields, IReadOnlyList<string> outputs, JsonObject actual,
        SearchResultData? hits = null)
    {
        var code = actual["code"]!.GetValue<int>();
        if (expected.Code != 0)
        {
            Assert.True((expected.Code, expected.Reason) == (code, actual["message"]?.GetValue<string>()),
                $"{what}: gRPC refused {expected.Code} '{expected.Reason}', REST answered {actual.ToJsonString()}");
            return false;
        }
        Assert.True(code == 0, $"{what}: gRPC answered, REST refused {actual.ToJsonString()}");
        var printed = Printed(fields, outputs, hits);
        Assert.True(JsonNode.DeepEquals(printed, actual["data"]), $"{what}:\ngRPC {printed.ToJsonString()}\nREST {actual["data"]?.ToJsonString()}");
        return true;
    }

    /// <summary>Milvus's columns as the REST API prints them (<see cref="RestJsonWriter"/>, Int64 as strings), with the
    /// hits' ids and scores for a search.</summary>
    private static JsonNode Printed(IReadOnlyList<FieldData> fields, IReadOnlyList<string> outputs, SearchResultData? hits)
    {
        var count = fields.Count > 0 ? FieldDataReader.RowCount(fields[0]) : hits?.Scores.Count ?? 0;
        var (rows, schema) = FieldDataReader.ReadResult(fields, count);
        FieldColumn? ids = hits is null ? null
            : hits.Ids.IdFieldCase == IDs.IdFieldOneofCase.StrId
                ? new FieldColumn { Name = RestJsonWriter.IdKey, Strings = [.. hits.Ids.StrId.Data] }
                : new FieldColumn { Name = RestJsonWriter.IdKey, Longs = [.. hits.Ids.IntId.Data] };
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RestJsonWriter.WriteRows(writer, schema.Fields, rows, outputs, ids, hits is null ? null : [.. hits.Scores], allowInt64: false);
        }
        return JsonNode.Parse(buffer.WrittenSpan)!;
    }

    /// <summary>The query as a REST body, as a client writes it.</summary>
    private static JsonObject RestOf(Query query)
    {
        var body = new JsonObject { ["collectionName"] = query.Collection };
        if (query.Filter is { } filter)
        {
            body["filter"] = filter;
        }
        if (query.Templates is { } templates)
        {
            body["exprParams"] = new JsonObject(templates.Select(t => System.Collections.Generic.KeyValuePair.Create(t.Key, (JsonNode?)RestGrpcSearchDifferentialTests.Json(t.Value))));
        }
        if (query.Limit is { } limit)
        {
            body["limit"] = limit;
        }
        if (query.Offset != 0)
        {
            body["offset"] = query.Offset;
        }
        AddStrings(body, "outputFields", query.Outputs);
        AddStrings(body, "partitionNames", query.Partitions);
        if (query.Timezone is { } timezone)
        {
            body["timezone"] = timezone;
        }
        return body;
    }

    /// <summary>The query as Milvus's SDKs send it over gRPC (the REST API's default limit, 100, stated).</summary>
    private static WireQuery GrpcOf(Query query)
    {
        var request = new WireQuery
        {
            CollectionName = query.Collection,
            Expr = query.Filter ?? "",
            OutputFields = { query.Outputs ?? ["*"] },
            PartitionNames = { query.Partitions ?? [] },
        };
        if (query.Offset > 0)
        {
            request.QueryParams.Add(Kv("offset", query.Offset.ToString(CultureInfo.InvariantCulture)));
        }
        if ((query.Limit ?? 100) is > 0 and var limit)
        {
            request.QueryParams.Add(Kv("limit", limit.ToString(CultureInfo.InvariantCulture)));
        }
        if (query.Timezone is { } timezone)
        {
            request.QueryParams.Add(Kv("timezone", timezone));
        }
        foreach (var (name, value) in query.Templates ?? [])
        {
            request.ExprTemplateValues[name] = RestGrpcSearchDifferentialTests.Template(value);
        }
        return request;
    }

    private const string IteratorFilter = "i32 < 280";

    private static WireSearch IteratorGrpc(float[] vector, float? bound, string? token)
    {
        var request = new WireSearch
        {
            CollectionName = "q",
            Nq = 1,
            DslType = DslType.BoolExprV1,
            Dsl = IteratorFilter,
            PlaceholderGroup = new PlaceholderGroup
            {
                Placeholders = { new PlaceholderValue { Tag = "$0", Type = PlaceholderType.FloatVector, Values = { ByteString.CopyFrom([.. vector.SelectMany(BitConverter.GetBytes)]) } } },
            }.ToByteString(),
            OutputFields = { "name", "i32", "extra" },
            SearchParams =
            {
                Kv("anns_field", "v"), Kv("topk", "4"), Kv("params", "{}"), Kv("round_decimal", "-1"),
                Kv("iterator", "true"), Kv("search_iter_v2", "true"), Kv("search_iter_batch_size", "4"),
            },
        };
        if (bound is { } b)
        {
            request.SearchParams.Add(Kv("search_iter_last_bound", b.ToString("R", CultureInfo.InvariantCulture)));
            request.SearchParams.Add(Kv("search_iter_id", token!));
        }
        return request;
    }

    private static JsonObject IteratorRest(float[] vector, float? bound, string? token)
    {
        var parameters = new JsonObject { ["iterator"] = "true", ["search_iter_v2"] = "true", ["search_iter_batch_size"] = 4 };
        if (bound is { } b)
        {
            parameters["search_iter_last_bound"] = b.ToString("R", CultureInfo.InvariantCulture);
            parameters["search_iter_id"] = token;
        }
        return new JsonObject
        {
            ["collectionName"] = "q",
            ["data"] = new JsonArray(new JsonArray([.. vector.Select(x => (JsonNode?)x)])),
            ["annsField"] = "v",
            ["filter"] = IteratorFilter,
            ["limit"] = 4,
            ["outputFields"] = new JsonArray("name", "i32", "extra"),
            ["searchParams"] = new JsonObject { ["params"] = parameters },
        };
    }

    private static void AddStrings(JsonObject body, string key, string[]? values)
    {
        if (values is not null)
        {
            body[key] = new JsonArray([.. values.Select(v => (JsonNode?)v)]);
        }
    }

    /// <summary>Row <paramref name="i"/>'s vector: components in multiples of 0.25, so that ties in distance occur.</summary>
    private static float[] Vector(int i) => [(i % 5) / 4f, (i % 3) / 4f, (i % 7) / 4f, 1f];

    /// <summary>A collection of <see cref="Rows"/> rows with a field of every scalar type (nulls, arrays, JSON, dynamic
    /// keys), half in partition p1, loaded: the same rows for every collection of a key type.</summary>
    private static async Task CreateAsync(TestServer server, string name, bool varcharKey)
    {
        var key = varcharKey
            ? """{"fieldName": "pk", "dataType": "VarChar", "isPrimary": true, "elementTypeParams": {"max_length": 8}}"""
            : """{"fieldName": "id", "dataType": "Int64", "isPrimary": true}""";
        await RestFloatCollection.PostOkAsync(server, "/collections/create", $$$"""
            {"collectionName": "{{{name}}}", "schema": {"enableDynamicField": true, "fields": [
              {{{key}}},
              {{{WriteTwins.ScalarFields()}}},
              {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}]},
             "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2", "indexType": "FLAT"}]}
            """);
        Assert.Equal(0, (await server.Milvus.ReleaseCollectionAsync(new ReleaseCollectionRequest { CollectionName = name })).Code);
        Assert.Equal(0, (await server.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = name, PartitionName = "p1" })).Code);
        foreach (var partition in new[] { "_default", "p1" })
        {
            var data = new JsonArray();
            for (var n = 0; n < Rows / 2; n++)
            {
                var i = partition == "p1" ? Rows / 2 + n : n;
                var row = new JsonObject
                {
                    [varcharKey ? "pk" : "id"] = varcharKey ? "k" + i.ToString(CultureInfo.InvariantCulture) : i,
                    ["b"] = i % 2 == 0,
                    ["i8"] = i % 100 - 50,
                    ["i16"] = i * 3 - 100,
                    ["i32"] = i * 7,
                    ["i64"] = i * 1_000_000_000_007L,
                    ["f"] = i / 4f,
                    ["d"] = i / 3.0,
                    ["name"] = "n" + i.ToString(CultureInfo.InvariantCulture),
                    ["js"] = new JsonObject { ["k"] = i % 5, ["s"] = "v" + i.ToString(CultureInfo.InvariantCulture) },
                    ["arr"] = new JsonArray(i % 3, i % 5),
                    ["sarr"] = new JsonArray("a" + (i % 4).ToString(CultureInfo.InvariantCulture)),
                    ["nul"] = i % 3 == 0 ? null : i,
                    ["v"] = new JsonArray([.. Vector(i).Select(x => (JsonNode?)x)]),
                    ["extra"] = i % 4,
                };
                if (i % 2 == 1)
                {
                    row["dyn_s"] = "x" + i.ToString(CultureInfo.InvariantCulture);
                }
                data.Add(row);
            }
            await RestFloatCollection.PostOkAsync(server, "/entities/insert",
                new JsonObject { ["collectionName"] = name, ["partitionName"] = partition, ["data"] = data }.ToJsonString());
        }
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name })).Code);
    }

    private static KeyValuePair Kv(string key, string value) => new() { Key = key, Value = value };
}
