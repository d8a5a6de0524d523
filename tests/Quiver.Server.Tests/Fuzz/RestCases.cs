using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using static Quiver.Server.Tests.Fuzz.FuzzValues;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>
/// Generates REST v2 bodies for every endpoint that takes data or names, schema-aware and almost right (rows with
/// values of the wrong JSON type, vectors of the wrong length, numbers past the types' limits, odd names and
/// parameters), and mutates bodies: JSON-aware (a value replaced by one of another type, a key dropped or duplicated,
/// nesting added) and byte-level (flips, truncation, invalid UTF-8).
/// </summary>
internal static class RestCases
{
    /// <summary>A generated request: the path under <c>/v2/vectordb</c> and the JSON body.</summary>
    public static (string Path, JsonObject Body) Generate(Random r)
    {
        var c = r.Pick(FuzzCollection.Fixtures);
        var body = new JsonObject { ["collectionName"] = r.Chance(0.9) ? c.Name : Name(r) };
        if (r.Chance(0.15))
        {
            body["dbName"] = r.Pick(["default", "fzdb", Name(r)]);
        }
        switch (r.Next(30))
        {
            case < 6:
                body["data"] = Rows(r, c);
                if (r.Chance(0.2))
                {
                    body["partitionName"] = r.Pick(["_default", "fzp0", Name(r)]);
                }
                return (r.Chance(0.5) ? "/entities/insert" : "/entities/upsert", body);
            case < 10:
                Search(r, c, body);
                return ("/entities/search", body);
            case < 13:
                body["filter"] = Filter(r);
                Optional(r, body, "outputFields", () => OutputFields(r));
                Optional(r, body, "limit", () => Number(r));
                Optional(r, body, "offset", () => Number(r));
                Optional(r, body, "consistencyLevel", () => r.Pick(["Strong", "Bounded", "Session", "Eventually", "Customized", Name(r)]));
                Optional(r, body, "partitionNames", () => new JsonArray(r.Pick(["_default", "fzp0", Name(r)])));
                return ("/entities/query", body);
            case < 15:
                body["id"] = Ids(r, c);
                Optional(r, body, "outputFields", () => OutputFields(r));
                return ("/entities/get", body);
            case < 17:
                if (r.Chance(0.5))
                {
                    body["filter"] = Filter(r);
                }
                else
                {
                    body["id"] = Ids(r, c);
                }
                return ("/entities/delete", body);
            case < 20:
                CreateCollection(r, body);
                return ("/collections/create", body);
            case < 22:
                body["collectionName"] = r.Chance(0.5) ? PoolName(r, "fzc") : c.Name;
                body["indexParams"] = new JsonArray(IndexParam(r, c));
                return ("/indexes/create", body);
            case 22:
                body["aliasName"] = PoolName(r, "fza");
                return (r.Pick(["/aliases/create", "/aliases/alter", "/aliases/drop", "/aliases/describe"]), body);
            case 23:
                body["partitionName"] = PoolName(r, "fzp");
                body["partitionNames"] = new JsonArray(PoolName(r, "fzp"));
                return (r.Pick(["/partitions/create", "/partitions/drop", "/partitions/has", "/partitions/load", "/partitions/release", "/partitions/get_stats"]), body);
            case 24:
                body.Remove("collectionName");
                body["dbName"] = PoolName(r, "fzd");
                Optional(r, body, "properties", () => new JsonObject { [r.Pick(["database.max.collections", "x"])] = Value(r, 2) });
                return (r.Pick(["/databases/create", "/databases/drop", "/databases/describe", "/databases/alter"]), body);
            case 25:
                body["collectionName"] = PoolName(r, "fzc");
                body["newCollectionName"] = PoolName(r, "fzc");
                return (r.Pick(["/collections/rename", "/collections/drop"]), body);
            case 26:
                body["properties"] = new JsonObject { [r.Pick(["collection.ttl.seconds", "mmap.enabled", Name(r)])] = Value(r, 2) };
                body["propertyKeys"] = new JsonArray(Name(r));
                return (r.Pick(["/collections/alter_properties", "/collections/drop_properties"]), body);
            case 27:
                body["search"] = new JsonArray(Enumerable.Range(0, r.Next(0, 3)).Select(_ => (JsonNode?)SubSearch(r, c)).ToArray());
                body["rerank"] = new JsonObject { ["strategy"] = r.Pick(["rrf", "weighted", Name(r)]), ["params"] = new JsonObject { ["k"] = Number(r) } };
                return ("/entities/hybrid_search", body);
            case 28:
                body["indexName"] = r.Chance(0.5) ? c.Vector.Name : Name(r);
                return (r.Pick(["/indexes/describe", "/indexes/list", "/indexes/drop"]), body);
            default:
                return (r.Pick(["/collections/describe", "/collections/has", "/collections/get_stats", "/collections/get_load_state",
                    "/collections/load", "/collections/release", "/collections/flush", "/collections/list", "/partitions/list", "/aliases/list"]), body);
        }
    }

    private static void Optional(Random r, JsonObject body, string key, Func<JsonNode?> value)
    {
        if (r.Chance(0.5))
        {
            body[key] = value();
        }
    }

    private static JsonNode Number(Random r) => r.Next(6) switch
    {
        0 => JsonValue.Create(Long(r)),
        1 => JsonValue.Create(r.NextDouble() * 10),
        2 => JsonValue.Create(NumberText(r)),
        _ => JsonValue.Create(r.Next(0, 30)),
    };

    private static JsonArray OutputFields(Random r) =>
        new([.. Enumerable.Range(0, r.Next(0, 4)).Select(_ => (JsonNode?)(r.Chance(0.8) ? FieldName(r) : r.Pick(["*", "count(*)", "j[\"a\"]", Name(r)])))]);

    /// <summary>A JSON value of any kind, nested at most <paramref name="depth"/> levels.</summary>
    public static JsonNode? Value(Random r, int depth) => r.Next(depth > 0 ? 12 : 9) switch
    {
        0 => null,
        1 => JsonValue.Create(r.Chance(0.5)),
        2 => JsonValue.Create(Long(r)),
        3 => Finite(Double(r)),
        4 => JsonValue.Create(Text(r)),
        5 => JsonValue.Create(NumberText(r)),
        6 => JsonValue.Create(""),
        7 => JsonValue.Create(r.Next(-5, 5)),
        8 => JsonNode.Parse("1e308"),
        9 or 10 => new JsonArray([.. Enumerable.Range(0, r.Next(0, 4)).Select(_ => Value(r, depth - 1))]),
        _ => new JsonObject(Enumerable.Range(0, r.Next(0, 3)).Select(i => new KeyValuePair<string, JsonNode?>(FieldName(r) + i.ToString(CultureInfo.InvariantCulture), Value(r, depth - 1)))),
    };

    private static JsonNode Finite(double value) => double.IsFinite(value) ? JsonValue.Create(value) : JsonNode.Parse(value > 0 ? "1e400" : "-1e400")!;

    private static JsonArray Rows(Random r, FuzzCollection c)
    {
        var rows = new JsonArray();
        var count = r.Next(8) switch { 0 => 0, 1 => r.Next(20, 120), _ => r.Next(1, 5) };
        for (var i = 0; i < count; i++)
        {
            if (r.Chance(0.03))
            {
                rows.Add(Value(r, 2));
                continue;
            }
            var row = new JsonObject();
            foreach (var field in c.Fields)
            {
                if ((field.AutoId && r.Chance(0.8)) || r.Chance(0.04))
                {
                    continue;
                }
                row[field.Name] = r.Chance(0.1) ? Value(r, 3) : FieldValue(r, field, odd: r.Chance(0.2));
            }
            if (c.Dynamic && r.Chance(0.4))
            {
                row[r.Pick(["dyn", "x", "$meta", Name(r)])] = r.Chance(0.2) ? JsonNode.Parse(Nested(r.Next(1, MaxNesting + 1), r.Chance(0.5))) : Value(r, 3);
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A REST value for <paramref name="field"/>; with <paramref name="odd"/> one at or past an edge.</summary>
    public static JsonNode? FieldValue(Random r, FuzzField field, bool odd)
    {
        if (odd && r.Chance(0.15))
        {
            return null;
        }
        switch (field.Type)
        {
            case ProtoType.Bool:
                return odd ? r.Pick<JsonNode?>([JsonValue.Create("true"), JsonValue.Create(1), JsonValue.Create(0)]) : JsonValue.Create(r.Chance(0.5));
            case ProtoType.Int8 or ProtoType.Int16 or ProtoType.Int32 or ProtoType.Int64:
                if (!odd)
                {
                    return JsonValue.Create(r.Next(-100, 100));
                }
                return r.Next(6) switch
                {
                    0 => JsonValue.Create(Long(r)),
                    1 => JsonValue.Create(Long(r).ToString(CultureInfo.InvariantCulture)),
                    2 => JsonValue.Create(1.5),
                    3 => JsonNode.Parse("1e400"),
                    4 => JsonNode.Parse("99999999999999999999999"),
                    _ => JsonNode.Parse("-0"),
                };
            case ProtoType.Float or ProtoType.Double:
                return odd ? r.Pick<JsonNode?>([JsonNode.Parse("1e400"), JsonNode.Parse("-1e39"), JsonValue.Create("NaN"), JsonValue.Create("Infinity"), JsonValue.Create(Long(r))])
                    : JsonValue.Create(r.NextDouble());
            case ProtoType.VarChar:
                return JsonValue.Create(odd ? Text(r) : Word(r, 1 + r.Next(Math.Max(1, Math.Min(8, field.MaxLength)))));
            case ProtoType.Json:
                return odd ? r.Pick<JsonNode?>([JsonValue.Create(JsonText(r)), JsonNode.Parse(Nested(r.Next(1, MaxNesting + 1), r.Chance(0.5))), Value(r, 3)])
                    : new JsonObject { ["a"] = r.Next(10) };
            case ProtoType.Array:
                var count = odd ? r.Next(0, field.Capacity + 3) : r.Next(0, field.Capacity + 1);
                return new JsonArray([.. Enumerable.Range(0, count).Select(_ => field.Element == ProtoType.Int64
                    ? (odd ? Value(r, 1) : JsonValue.Create(r.Next(100)))
                    : (odd ? Value(r, 1) : JsonValue.Create(Word(r, r.Next(1, 8)))))]);
            case ProtoType.FloatVector:
                return Vector(r, field.Dim, odd);
            default:
                return Value(r, 2);
        }
    }

    private static JsonNode? Vector(Random r, int dim, bool odd)
    {
        if (!odd)
        {
            return new JsonArray([.. Enumerable.Range(0, dim).Select(_ => (JsonNode?)JsonValue.Create((float)r.NextDouble()))]);
        }
        return r.Next(6) switch
        {
            0 => new JsonArray([.. Enumerable.Range(0, r.Pick([0, 1, dim + 1, 100])).Select(_ => (JsonNode?)JsonValue.Create(r.NextDouble()))]),
            1 => new JsonArray([.. Enumerable.Range(0, dim).Select(_ => Value(r, 1))]),
            2 => JsonValue.Create("[1,2,3,4]"),
            3 => new JsonArray([.. Enumerable.Range(0, dim).Select(_ => (JsonNode?)JsonNode.Parse(r.Pick(["1e400", "-1e39", "3.5e38", "0"])))]),
            4 => new JsonObject { ["indices"] = new JsonArray(1), ["values"] = new JsonArray(0.5) },
            _ => new JsonArray(new JsonArray(1, 2), new JsonArray(3, 4)),
        };
    }

    private static JsonNode? Ids(Random r, FuzzCollection c) => r.Next(5) switch
    {
        0 => Value(r, 2),
        1 => FieldValue(r, c.Key, odd: true),
        _ => new JsonArray([.. Enumerable.Range(0, r.Next(0, 6)).Select(_ => FieldValue(r, c.Key, odd: r.Chance(0.2)))]),
    };

    private static void Search(Random r, FuzzCollection c, JsonObject body)
    {
        var nq = r.Next(8) switch { 0 => 0, 1 => r.Next(10, 60), _ => r.Next(1, 4) };
        body["data"] = r.Chance(0.05) ? Value(r, 2) : new JsonArray([.. Enumerable.Range(0, nq).Select(_ => Vector(r, c.Vector.Dim, r.Chance(0.1)))]);
        Optional(r, body, "annsField", () => r.Chance(0.8) ? c.Vector.Name : FieldName(r));
        Optional(r, body, "filter", () => Filter(r));
        Optional(r, body, "limit", () => Number(r));
        Optional(r, body, "offset", () => Number(r));
        Optional(r, body, "outputFields", () => OutputFields(r));
        Optional(r, body, "groupingField", () => FieldName(r));
        Optional(r, body, "groupSize", () => Number(r));
        Optional(r, body, "strictGroupSize", () => Value(r, 0));
        Optional(r, body, "consistencyLevel", () => r.Pick(["Strong", "Bounded", "Session", Name(r)]));
        Optional(r, body, "searchParams", () =>
        {
            var sp = new JsonObject();
            Optional(r, sp, "metricType", () => r.Pick(["L2", "IP", "COSINE", "HAMMING", c.Metric, Name(r)]));
            Optional(r, sp, "params", () => new JsonObject
            {
                [r.Pick(["ef", "nprobe", "radius", "range_filter", "level", Name(r)])] = r.Chance(0.5) ? Number(r) : Value(r, 2),
            });
            Optional(r, sp, r.Pick(["radius", "range_filter", "ignoreGrowing", "hints", "ef"]), () => Value(r, 1));
            return sp;
        });
    }

    private static JsonObject SubSearch(Random r, FuzzCollection c)
    {
        var sub = new JsonObject();
        Search(r, c, sub);
        return sub;
    }

    private static readonly string[] _dataTypes =
        ["Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar", "JSON", "Array", "FloatVector", "BinaryVector",
         "Float16Vector", "SparseFloatVector", "String", "int64", "FLOATVECTOR", "Geometry", "", "Nope"];

    private static void CreateCollection(Random r, JsonObject body)
    {
        body["collectionName"] = PoolName(r, "fzc");
        if (r.Chance(0.4))
        {
            Optional(r, body, "dimension", () => r.Chance(0.5) ? JsonValue.Create(r.Pick([0, 1, 4, 32_768, 32_769, -1])) : Value(r, 1));
            Optional(r, body, "metricType", () => r.Pick(["L2", "IP", "COSINE", "HAMMING", Name(r)]));
            Optional(r, body, "idType", () => r.Pick(["Int64", "VarChar", "Float", Name(r)]));
            Optional(r, body, "autoID", () => Value(r, 0));
            Optional(r, body, "primaryFieldName", () => FieldName(r));
            Optional(r, body, "vectorFieldName", () => FieldName(r));
            Optional(r, body, "params", () => new JsonObject { [r.Pick(["max_length", "shardsNum", "consistencyLevel", "ttlSeconds", "partitionsNum"])] = Value(r, 1) });
            return;
        }
        var fields = new JsonArray();
        for (var i = r.Next(0, 5); i > 0; i--)
        {
            var field = new JsonObject
            {
                ["fieldName"] = FieldName(r),
                ["dataType"] = r.Chance(0.9) ? r.Pick(_dataTypes) : Value(r, 1),
            };
            Optional(r, field, "isPrimary", () => r.Chance(0.8) ? JsonValue.Create(true) : Value(r, 0));
            Optional(r, field, "elementDataType", () => r.Pick(_dataTypes));
            Optional(r, field, "nullable", () => Value(r, 0));
            Optional(r, field, "defaultValue", () => Value(r, 1));
            Optional(r, field, "isPartitionKey", () => Value(r, 0));
            Optional(r, field, "elementTypeParams", () => new JsonObject
            {
                [r.Pick(["dim", "max_length", "max_capacity"])] = r.Chance(0.5) ? JsonValue.Create(r.Next(1, 40)) : Value(r, 1),
                [r.Pick(["dim", "max_length", "max_capacity"]) + "_"] = Value(r, 0),
            });
            fields.Add(field);
        }
        body["schema"] = new JsonObject
        {
            ["autoId"] = r.Chance(0.8) ? JsonValue.Create(false) : Value(r, 0),
            ["enableDynamicField"] = r.Chance(0.8) ? JsonValue.Create(r.Chance(0.5)) : Value(r, 0),
            ["fields"] = fields,
        };
        Optional(r, body, "indexParams", () => new JsonArray(IndexParam(r, r.Pick(FuzzCollection.Fixtures))));
        Optional(r, body, "params", () => new JsonObject { [r.Pick(["shardsNum", "consistencyLevel", "ttlSeconds", "partitionKeyIsolation"])] = Value(r, 1) });
    }

    private static JsonObject IndexParam(Random r, FuzzCollection c)
    {
        var entry = new JsonObject
        {
            ["fieldName"] = r.Chance(0.7) ? c.Vector.Name : FieldName(r),
            ["indexName"] = r.Chance(0.5) ? c.Vector.Name : Name(r),
            ["metricType"] = r.Chance(0.7) ? c.Metric : r.Pick(["L2", "IP", "COSINE", "", Name(r)]),
        };
        Optional(r, entry, "indexType", () => r.Pick(["FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "AUTOINDEX", "INVERTED", Name(r)]));
        Optional(r, entry, "params", () => new JsonObject
        {
            [r.Pick(["M", "efConstruction", "nlist", "m", "nbits"])] = r.Chance(0.5) ? JsonValue.Create(r.Pick([0, 1, 3, 8, 17, 65, 100_000])) : Value(r, 1),
            [r.Pick(["M", "efConstruction", "nlist", "m", "nbits", "index_type"])] = Value(r, 1),
        });
        return entry;
    }

    // ---- mutation ----

    /// <summary>A mutated body: JSON-aware edits of <paramref name="body"/>, then possibly byte-level damage.</summary>
    public static byte[] Mutate(Random r, JsonObject body)
    {
        for (var edits = r.Next(1, 4); edits > 0; edits--)
        {
            var nodes = new List<JsonNode>();
            Collect(body, nodes);
            var target = r.Pick(nodes);
            switch (r.Next(5))
            {
                case 0 when target.Parent is JsonObject parent:
                    parent.Remove(target.GetPropertyName());
                    break;
                case 1 when target.Parent is JsonArray array:
                    array.Remove(target);
                    break;
                case 2:
                    Replace(target, Value(r, 3));
                    break;
                case 3:
                    Replace(target, JsonNode.Parse(r.Pick(["1e400", "-1e400", "18446744073709551616", "9223372036854775808", "-9223372036854775809",
                        "1.7976931348623157e309", "0.0000000000000000000000000000001", "[[[[[[[[[[1]]]]]]]]]]"])));
                    break;
                default:
                    Replace(target, JsonNode.Parse(Nested(r.Next(1, MaxNesting + 1), r.Chance(0.5))));
                    break;
            }
        }
        var text = body.ToJsonString();
        if (r.Chance(0.15))
        {
            text = DuplicateKey(r, text);
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        if (r.Chance(0.3))
        {
            bytes = Damage(r, bytes);
        }
        return bytes;
    }

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        if (node.Parent is not null)
        {
            nodes.Add(node);
        }
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }
                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }
                break;
        }
        if (nodes.Count == 0)
        {
            nodes.Add(node);
        }
    }

    private static void Replace(JsonNode target, JsonNode? value)
    {
        switch (target.Parent)
        {
            case JsonObject o:
                o[target.GetPropertyName()] = value;
                break;
            case JsonArray a:
                a[target.GetElementIndex()] = value;
                break;
            case null when target is JsonObject root:
                root["_"] = value;
                break;
        }
    }

    /// <summary>Repeats the first member of the body's top-level object (a duplicate key, as text).</summary>
    private static string DuplicateKey(Random r, string text)
    {
        var body = JsonNode.Parse(text) as JsonObject;
        if (body is null || body.Count == 0)
        {
            return text;
        }
        var (key, value) = body.ElementAt(r.Next(body.Count));
        var member = System.Text.Json.JsonSerializer.Serialize(key) + ":" + (value?.ToJsonString() ?? "null");
        return "{" + member + "," + text[1..];
    }

    /// <summary>Byte-level damage: flips, truncation, invalid UTF-8 sequences, stray control bytes.</summary>
    public static byte[] Damage(Random r, byte[] bytes)
    {
        var data = new List<byte>(bytes);
        switch (r.Next(5))
        {
            case 0 when data.Count > 1:
                data.RemoveRange(r.Next(data.Count), 1);
                break;
            case 1 when data.Count > 1:
                var keep = r.Next(1, data.Count);
                data.RemoveRange(keep, data.Count - keep);
                break;
            case 2:
                // Inside a string if one is there: invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate).
                var quote = data.IndexOf((byte)'"');
                var at = quote >= 0 ? quote + 1 : r.Next(data.Count + 1);
                data.InsertRange(Math.Min(at, data.Count), r.Pick<byte[]>([[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0xf4, 0x90, 0x80, 0x80]]));
                break;
            case 3 when data.Count > 0:
                data[r.Next(data.Count)] ^= (byte)(1 << r.Next(8));
                break;
            default:
                data.Insert(r.Next(data.Count + 1), r.Pick<byte>([0x00, 0x01, 0x1f, (byte)'\\', (byte)'"', (byte)'{', (byte)']']));
                break;
        }
        return [.. data];
    }
}
