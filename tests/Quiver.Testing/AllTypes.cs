using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Testing;

/// <summary>A schema with every field type the engine has (nullable, with defaults, JSON, arrays of every element type,
/// a vector, the dynamic field) and seeded rows for it in the engine's output types, plus an independent translation of
/// rows into a <see cref="ColumnBatch"/> and a canonical text of a row for equality.</summary>
public static class AllTypes
{
    /// <summary>The schema; <paramref name="dim"/> is the vector's dimension.</summary>
    public static CollectionSchema Schema(int dim = 4) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("flag", DataType.Bool),
            FieldSchema.Scalar("i8", DataType.Int8),
            FieldSchema.Scalar("i16", DataType.Int16, nullable: true),
            FieldSchema.Scalar("i32", DataType.Int32),
            FieldSchema.Scalar("i64", DataType.Int64, nullable: true),
            FieldSchema.Scalar("f32", DataType.Float),
            FieldSchema.Scalar("f64", DataType.Double, nullable: true),
            FieldSchema.VarChar("title", 32, nullable: true),
            new FieldSchema { Name = "label", DataType = DataType.VarChar, MaxLength = 8, DefaultValue = JsonDocument.Parse("\"none\"").RootElement },
            new FieldSchema { Name = "rating", DataType = DataType.Int32, DefaultValue = JsonDocument.Parse("3").RootElement },
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Json("doc"),
            FieldSchema.Array("nums", DataType.Int64, 8),
            FieldSchema.Array("tags", DataType.VarChar, 8, maxLength: 16, nullable: true),
            FieldSchema.Array("ratios", DataType.Double, 4),
            FieldSchema.Array("bits", DataType.Bool, 4),
            FieldSchema.Array("bytes", DataType.Int8, 4),
            FieldSchema.Array("halves", DataType.Float, 4),
            FieldSchema.Vector("vec", dim, MetricType.L2),
        ],
        EnableDynamicField = true,
    };

    /// <summary><paramref name="count"/> rows with keys from <paramref name="firstId"/>: values in the engine's output
    /// types (Int8 <c>sbyte</c> … Float <c>float</c>, JSON and arrays <see cref="JsonElement"/>), random nulls in
    /// nullable fields, defaulted fields sometimes left out, dynamic keys in some rows.</summary>
    public static List<Row> Rows(int seed, int count, long firstId = 1, int dim = 4)
    {
        var rng = new Random(seed);
        var rows = new List<Row>(count);
        for (var i = 0; i < count; i++)
        {
            var row = new Row
            {
                ["id"] = firstId + i,
                ["flag"] = rng.Next(2) == 0,
                ["i8"] = (sbyte)rng.Next(sbyte.MinValue, sbyte.MaxValue + 1),
                ["i16"] = rng.Next(4) == 0 ? null : (short)rng.Next(short.MinValue, short.MaxValue + 1),
                ["i32"] = rng.Next(),
                ["i64"] = rng.Next(4) == 0 ? null : rng.NextInt64(long.MinValue, long.MaxValue),
                ["f32"] = (float)(rng.NextDouble() * 1000 - 500),
                ["f64"] = rng.Next(4) == 0 ? null : rng.NextDouble() * 1e12,
                ["title"] = rng.Next(4) == 0 ? null : $"t{rng.Next(1000)}é",
                ["meta"] = rng.Next(4) == 0 ? null : Json($$"""{"k":[{{rng.Next(10)}},2],"s":"x{{rng.Next(9)}}"}"""),
                ["doc"] = Json(rng.Next(3) == 0 ? "[1,\"a\",null]" : $$"""{"n":{{rng.Next(100)}}}"""),
                ["nums"] = Json($"[{string.Join(',', Enumerable.Range(0, rng.Next(4)).Select(_ => rng.NextInt64(-1L << 60, 1L << 60)))}]"),
                ["tags"] = rng.Next(4) == 0 ? null : Json($"[{string.Join(',', Enumerable.Range(0, rng.Next(3)).Select(j => $"\"g{j}\""))}]"),
                ["ratios"] = Json($"[{rng.Next(100) / 8.0},{-rng.Next(100) / 4.0}]"),
                ["bits"] = Json(rng.Next(2) == 0 ? "[true,false]" : "[]"),
                ["bytes"] = Json($"[{rng.Next(-128, 128)}]"),
                ["halves"] = Json($"[{rng.Next(100) / 4.0}]"),
                ["vec"] = TestData.Vector(rng, dim),
            };
            if (rng.Next(2) == 0)
            {
                row["label"] = $"l{rng.Next(100)}";
            }

            if (rng.Next(2) == 0)
            {
                row["rating"] = rng.Next(5);
            }

            if (rng.Next(2) == 0)
            {
                row["color"] = Json($"\"c{rng.Next(5)}\"");
                row["size"] = Json($"{rng.Next(50)}");
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>The rows as a column batch, translated here (not by the engine's row checks): typed arrays per field,
    /// a null flag where a row holds null or leaves the field out, undeclared keys gathered into the dynamic objects.</summary>
    public static ColumnBatch ToColumns(CollectionSchema schema, IReadOnlyList<Row> rows)
    {
        var batch = new ColumnBatch(rows.Count);
        foreach (var field in schema.Fields)
        {
            var nulls = new bool[rows.Count];
            object?[] values = [.. rows.Select(r => r.GetValueOrDefault(field.Name))];
            for (var r = 0; r < rows.Count; r++)
            {
                nulls[r] = values[r] is null;
            }

            batch.Add(field.DataType switch
            {
                DataType.Bool => new FieldColumn { Name = field.Name, Bools = [.. values.Select(v => v is true)], Nulls = nulls },
                _ when field.DataType.IsInteger() => new FieldColumn { Name = field.Name, Longs = [.. values.Select(v => v is null ? 0 : Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture))], Nulls = nulls },
                DataType.Float or DataType.Double => new FieldColumn { Name = field.Name, Doubles = [.. values.Select(v => v is null ? 0 : Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture))], Nulls = nulls },
                DataType.VarChar => new FieldColumn { Name = field.Name, Strings = [.. values.Select(v => (string?)v)], Nulls = nulls },
                DataType.FloatVector => new FieldColumn { Name = field.Name, Vectors = [.. values.SelectMany(v => (float[])v!)] },
                _ => new FieldColumn { Name = field.Name, Json = [.. values.Select(v => v is JsonElement j ? j : default)], Nulls = nulls },
            });
        }

        if (schema.EnableDynamicField)
        {
            batch.Dynamic = [.. rows.Select(r =>
            {
                var extra = new JsonObject();
                foreach (var (key, value) in r)
                {
                    if (schema.Find(key) is null)
                    {
                        extra[key] = JsonNode.Parse(((JsonElement)value!).GetRawText());
                    }
                }

                return extra.Count == 0 ? default : JsonSerializer.SerializeToElement(extra);
            })];
        }

        return batch;
    }

    /// <summary>A row as text that two equal rows share: keys sorted, each value with its CLR type and its JSON form.</summary>
    public static string Canonical(IReadOnlyDictionary<string, object?> row) =>
        string.Join("; ", row.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Canonical(kv.Value)}"));

    /// <summary>A value as text with its type (JSON compacted).</summary>
    public static string Canonical(object? value) => value switch
    {
        null => "null",
        JsonElement j => "JSON " + JsonSerializer.Serialize(j),
        float[] v => "float[] " + string.Join(",", v.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))),
        _ => $"{value.GetType().Name} {JsonSerializer.Serialize(value)}",
    };

    /// <summary>The row as the engine returns it after an insert: defaults filled, nulls kept, dynamic keys as elements.</summary>
    public static Row Expected(CollectionSchema schema, Row row)
    {
        var result = new Row(row);
        foreach (var field in schema.Fields)
        {
            if (result.GetValueOrDefault(field.Name) is null && field.DefaultValue is { } dv)
            {
                result[field.Name] = field.DataType switch
                {
                    DataType.Int32 => dv.GetInt32(),
                    DataType.VarChar => dv.GetString(),
                    _ => throw new NotSupportedException("default of " + field.DataType),
                };
            }
            else if (!result.ContainsKey(field.Name))
            {
                result[field.Name] = null;
            }
        }

        return result;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
