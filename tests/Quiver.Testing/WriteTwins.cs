using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Testing;

/// <summary>The rows and the collection of the REST/gRPC write differential tests (the server's
/// <c>RestGrpcWriteDifferentialTests</c>, the cluster's <c>RestWritesOnThreeShards_...</c>): a write is sent over REST to
/// one collection and over gRPC to its twin, and both must answer and store alike. One builder for both, so that the
/// node and the server are checked on the same rows.</summary>
public static class WriteTwins
{
    /// <summary>A field of every scalar type (nullable <c>nul</c>, arrays, JSON), as REST's <c>fields</c> members; with
    /// <paramref name="timestamptz"/> a TIMESTAMPTZ <c>ts</c> after <c>name</c>.</summary>
    public static string ScalarFields(bool timestamptz = false) => $$$"""
        {"fieldName": "b", "dataType": "Bool"},
        {"fieldName": "i8", "dataType": "Int8"},
        {"fieldName": "i16", "dataType": "Int16"},
        {"fieldName": "i32", "dataType": "Int32"},
        {"fieldName": "i64", "dataType": "Int64"},
        {"fieldName": "f", "dataType": "Float"},
        {"fieldName": "d", "dataType": "Double"},
        {"fieldName": "name", "dataType": "VarChar", "elementTypeParams": {"max_length": 16}},{{{(timestamptz ? "\n{\"fieldName\": \"ts\", \"dataType\": \"Timestamptz\"}," : "")}}}
        {"fieldName": "js", "dataType": "JSON"},
        {"fieldName": "arr", "dataType": "Array", "elementDataType": "Int64", "elementTypeParams": {"max_capacity": 4}},
        {"fieldName": "sarr", "dataType": "Array", "elementDataType": "VarChar", "elementTypeParams": {"max_capacity": 4, "max_length": 8}},
        {"fieldName": "nul", "dataType": "Int32", "nullable": true}
        """;

    /// <summary>The REST create body of a twin: <see cref="ScalarFields"/>, nullable and default-valued fields, the dynamic
    /// field and four vector types, each indexed (so loaded); keyed by <paramref name="key"/> (int, varchar, auto, or
    /// partkey: int with <c>n</c> as the partition key). <paramref name="shards"/>: <c>params.shardsNum</c> (null: none
    /// given); <paramref name="timestamptz"/>: with the <c>ts</c> field.</summary>
    public static JsonNode Collection(string name, string key, int? shards = null, bool timestamptz = false)
    {
        var keyField = key switch
        {
            "varchar" => """{"fieldName": "pk", "dataType": "VarChar", "isPrimary": true, "elementTypeParams": {"max_length": 8}}""",
            _ => """{"fieldName": "id", "dataType": "Int64", "isPrimary": true}""",
        };
        var parameters = shards is { } n ? $$"""
             "params": {"shardsNum": {{n}}, "partitionsNum": 4},
            """ : "";
        return JsonNode.Parse($$$"""
            {"collectionName": "{{{name}}}", {{{parameters}}}
             "schema": {"enableDynamicField": true, "autoId": {{{(key == "auto" ? "true" : "false")}}}, "fields": [
              {{{keyField}}},
              {"fieldName": "n", "dataType": "Int64"{{{(key == "partkey" ? ", \"isPartitionKey\": true" : "")}}}},
              {{{ScalarFields(timestamptz)}}},
              {"fieldName": "nname", "dataType": "VarChar", "nullable": true, "elementTypeParams": {"max_length": 16}},
              {"fieldName": "def", "dataType": "Int64", "defaultValue": 7},
              {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
              {"fieldName": "bv", "dataType": "BinaryVector", "elementTypeParams": {"dim": 16}},
              {"fieldName": "hv", "dataType": "Float16Vector", "elementTypeParams": {"dim": 4}},
              {"fieldName": "sv", "dataType": "SparseFloatVector"}]},
             "indexParams": [
               {"fieldName": "v", "indexName": "v", "metricType": "L2", "indexType": "FLAT"},
               {"fieldName": "bv", "indexName": "bv", "metricType": "HAMMING", "indexType": "BIN_FLAT"},
               {"fieldName": "hv", "indexName": "hv", "metricType": "L2", "indexType": "FLAT"},
               {"fieldName": "sv", "indexName": "sv", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"}]}
            """)!;
    }

    /// <summary><paramref name="count"/> rows from number <paramref name="from"/>: the key of row n is n (or "k" + n; none
    /// for key auto), its values vary with n and <paramref name="shift"/> (an upsert's new values). <paramref name="sparse"/>
    /// leaves the nullable and default-valued fields out of every second row and gives null in the others;
    /// <paramref name="name"/> replaces every <c>name</c>; <paramref name="longArray"/> gives <c>arr</c> 5 elements (its
    /// capacity is 4); <paramref name="timestamptz"/> adds <c>ts</c>, half without an offset (read in the collection's
    /// zone), half with one.</summary>
    public static JsonArray Rows(string key, int from, int count, int shift = 0, bool sparse = false, string? name = null, bool longArray = false, bool timestamptz = false)
    {
        var rows = new JsonArray();
        for (var n = from; n < from + count; n++)
        {
            var i = n + (1000 * shift);
            var text = i.ToString(CultureInfo.InvariantCulture);
            var row = new JsonObject
            {
                ["n"] = n,
                ["b"] = i % 2 == 0,
                ["i8"] = (i % 100) - 50,
                ["i16"] = (i * 3) - 100,
                ["i32"] = i * 7,
                ["i64"] = i * 1_000_000_000_007L,
                ["f"] = i / 4f,
                ["d"] = i / 3.0,
                ["name"] = name ?? "n" + text,
                ["js"] = new JsonObject { ["k"] = i % 5, ["s"] = "v" + text, ["a"] = new JsonArray(1, "x", null) },
                ["arr"] = longArray ? new JsonArray(1, 2, 3, 4, 5) : new JsonArray(i % 3, i % 5),
                ["sarr"] = new JsonArray("a" + (i % 4).ToString(CultureInfo.InvariantCulture)),
                ["v"] = new JsonArray(i % 5 / 4f, i % 3 / 4f, i % 7 / 4f, 1f),
                ["bv"] = new JsonArray(i % 256, i * 7 % 256),
                ["hv"] = new JsonArray(i % 4 / 2f, 0.5f, -1f, i % 3),
                ["sv"] = new JsonObject { [(i % 9).ToString(CultureInfo.InvariantCulture)] = 0.5f + (i % 4), ["100"] = 1.25f },
                ["extra"] = i % 4,
            };
            if (timestamptz)
            {
                row["ts"] = i % 2 == 0 ? $"2025-0{1 + (i % 9)}-1{i % 10}T0{i % 10}:30:00" : $"2024-12-0{1 + (i % 9)}T12:00:00-05:00";
            }

            if (key != "auto")
            {
                row[key == "varchar" ? "pk" : "id"] = key == "varchar" ? "k" + n.ToString(CultureInfo.InvariantCulture) : n;
            }

            if (sparse)
            {
                if (n % 2 == 1)
                {
                    row["nul"] = null;
                    row["nname"] = null;
                    row["def"] = null;
                }
            }
            else
            {
                row["nul"] = i % 3 == 0 ? null : i;
                row["nname"] = i % 4 == 0 ? null : "nn" + text;
                row["def"] = i * 11;
            }

            if (i % 2 == 1)
            {
                row["dyn_s"] = "x" + text;
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary><paramref name="schema"/> with no Array field's <c>max_capacity</c>: the oracle's reader makes the gRPC
    /// columns of a write with an array over its capacity (REST's reader refuses it on its count), so that the gRPC
    /// side is asked to refuse it too.</summary>
    public static CollectionSchema WithoutArrayCapacity(CollectionSchema schema) =>
        schema with { Fields = [.. schema.Fields.Select(f => f.DataType == DataType.Array ? f with { MaxCapacity = null } : f)] };

    /// <summary>Stored rows printed for comparison: each row's fields sorted by name as JSON (a sparse vector as
    /// "indices:values"; <c>id</c> left out for key auto, where each twin draws its own), the lines sorted.</summary>
    public static string Print(IEnumerable<IEnumerable<KeyValuePair<string, object?>>> rows, string key)
    {
        var printed = new List<string>();
        foreach (var row in rows)
        {
            var sorted = new SortedDictionary<string, object?>(row.Where(p => key != "auto" || p.Key != "id")
                .ToDictionary(p => p.Key, p => p.Value is SparseVector sparse ? $"{string.Join(",", sparse.Indices.ToArray())}:{string.Join(",", sparse.Values.ToArray())}" : p.Value),
                StringComparer.Ordinal);
            printed.Add(JsonSerializer.Serialize(sorted));
        }

        return string.Join("\n", printed.Order(StringComparer.Ordinal));
    }
}
