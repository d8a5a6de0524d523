using System.Collections.Immutable;
using System.Text.Json;
using Quiver.Common;
using Quiver.Filtering;
using Quiver.Segments;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>A row source built from rows given as dictionaries (missing key or null = null value). Undeclared keys go
/// into the dynamic field when the schema has one. Backing arrays and null bitmaps are deliberately longer than the row
/// count, as in a growing segment.</summary>
internal sealed class InMemoryRowSource : IRowSource
{
    private const int Slack = 70;
    private readonly ScalarColumn?[] _columns;

    public InMemoryRowSource(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        Schema = schema;
        RowCount = rows.Count;
        Rows = rows;
        _columns = new ScalarColumn?[schema.Fields.Length];
        for (var fi = 0; fi < schema.Fields.Length; fi++)
        {
            var f = schema.Fields[fi];
            if (!f.IsVector)
            {
                _columns[fi] = Build(f, rows.Select(r => r.GetValueOrDefault(f.Name)).ToList());
            }
        }

        if (schema.EnableDynamicField)
        {
            var dyn = rows.Select(r =>
            {
                var extra = r.Where(kv => schema.Find(kv.Key) is null).ToDictionary(kv => kv.Key, kv => kv.Value);
                return (object?)extra;
            }).ToList();
            Dynamic = (JsonColumn)Build(FieldSchema.Json(CollectionSchema.DynamicFieldName), dyn);
        }
    }

    public CollectionSchema Schema { get; }

    public int RowCount { get; }

    public IReadOnlyList<IReadOnlyDictionary<string, object?>> Rows { get; }

    public JsonColumn? Dynamic { get; }

    /// <summary>Scalar indexes over the rows (null: none, as for a growing segment).</summary>
    public ScalarIndexes? Indexes { get; init; }

    public ScalarColumn GetColumn(int fieldIndex) =>
        _columns[fieldIndex] ?? throw new InvalidOperationException($"field {fieldIndex} is a vector field");

    /// <summary>Evaluates a filter and returns the matching row numbers.</summary>
    public int[] Matches(string filter, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        var bitmap = FilterExpression.Parse(filter).Bind(Schema, parameters).Evaluate(this);
        Assert.Equal(RowCount, bitmap.Length);
        var result = new int[bitmap.PopCount()];
        bitmap.CopySetBits(result);
        return result;
    }

    private static ScalarColumn Build(FieldSchema f, List<object?> values)
    {
        var n = values.Count;
        var nulls = new Bitmap(n + Slack);
        var anyNull = false;
        for (var i = 0; i < n; i++)
        {
            if (values[i] is null)
            {
                nulls.Set(i);
                anyNull = true;
            }
        }

        ReadOnlyMemory<ulong> nb = anyNull ? nulls.Words.ToArray() : ReadOnlyMemory<ulong>.Empty;
        switch (f.DataType)
        {
            case DataType.Int8:
                return ScalarColumn.Numeric<sbyte>(f, Typed(values, v => (sbyte)Convert.ToInt64(v, Inv)), n, nb);
            case DataType.Int16:
                return ScalarColumn.Numeric<short>(f, Typed(values, v => (short)Convert.ToInt64(v, Inv)), n, nb);
            case DataType.Int32:
                return ScalarColumn.Numeric<int>(f, Typed(values, v => (int)Convert.ToInt64(v, Inv)), n, nb);
            case DataType.Int64:
                return ScalarColumn.Numeric<long>(f, Typed(values, v => Convert.ToInt64(v, Inv)), n, nb);
            case DataType.Float:
                return ScalarColumn.Numeric<float>(f, Typed(values, v => (float)Convert.ToDouble(v, Inv)), n, nb);
            case DataType.Double:
                return ScalarColumn.Numeric<double>(f, Typed(values, v => Convert.ToDouble(v, Inv)), n, nb);
            case DataType.Bool:
                return new BoolColumn(f, Typed(values, v => v is bool b && b), n, nb);
            case DataType.VarChar:
                return new StringColumn(f, [.. values.Select(v => (string?)v), .. new string?[Slack]], n, nb);
            default:
                return new JsonColumn(f, [.. values.Select(ToJson), .. new JsonElement[Slack]], n, nb);
        }
    }

    private static System.Globalization.CultureInfo Inv => System.Globalization.CultureInfo.InvariantCulture;

    /// <summary>Values at the column's own width, nulls as zero, with slack past the end like a growing segment.</summary>
    private static T[] Typed<T>(List<object?> values, Func<object, T> convert)
        where T : struct => [.. values.Select(v => v is null ? default : convert(v)), .. new T[Slack]];

    private static JsonElement ToJson(object? v) => v switch
    {
        null => default,
        JsonElement e => e,
        string s when s.StartsWith('{') || s.StartsWith('[') => JsonDocument.Parse(s).RootElement.Clone(),
        _ => JsonSerializer.SerializeToElement(v),
    };
}

/// <summary>The schema and rows most filtering tests use.</summary>
internal static class FilterFixture
{
    public static CollectionSchema Schema(bool dynamic = true) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Vector("vec", 2),
            FieldSchema.Scalar("age", DataType.Int32, nullable: true),
            FieldSchema.Scalar("big", DataType.Int64),
            FieldSchema.Scalar("price", DataType.Double, nullable: true),
            FieldSchema.Scalar("score", DataType.Float),
            FieldSchema.VarChar("title", 100, nullable: true),
            FieldSchema.Scalar("active", DataType.Bool, nullable: true),
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, 10, maxLength: 20),
            FieldSchema.Array("nums", DataType.Int64, 10, nullable: true),
        ],
        EnableDynamicField = dynamic,
    };

    public static Dictionary<string, object?> Row(params (string Key, object? Value)[] values) =>
        values.ToDictionary(v => v.Key, v => v.Value);

    /// <summary>Eight rows; row i has id i.</summary>
    public static InMemoryRowSource Source(bool dynamic = true)
    {
        var rows = new List<IReadOnlyDictionary<string, object?>>
        {
            Row(("id", 0L), ("age", 30), ("big", long.MaxValue), ("price", 10.5), ("score", 1.1), ("title", "Star Wars"), ("active", true),
                ("meta", """{"a": {"b": 1}, "arr": [1, 2, 3], "s": "red", "n": 5}"""), ("tags", """["x", "y"]"""), ("nums", "[1, 2, 3]"),
                ("color", "red"), ("size", 3)),
            Row(("id", 1L), ("age", 17), ("big", long.MaxValue - 1), ("price", 99.0), ("score", 2.5), ("title", "Star Trek"), ("active", false),
                ("meta", """{"a": {"b": 2}, "arr": [4, 5], "s": "blue", "n": 5.5}"""), ("tags", """["y"]"""), ("nums", "[4]"),
                ("color", "blue"), ("size", 10)),
            Row(("id", 2L), ("age", null), ("big", -5L), ("price", null), ("score", 3.0), ("title", null), ("active", null),
                ("meta", null), ("tags", "[]"), ("nums", null)),
            Row(("id", 3L), ("age", 45), ("big", 0L), ("price", 0.0), ("score", -1.0), ("title", "Dune 50% off"), ("active", true),
                ("meta", """{"s": 7, "n": "five", "arr": ["a", "b"]}"""), ("tags", """["x", "z", "w"]"""), ("nums", "[]"),
                ("color", "green"), ("flag", true)),
            Row(("id", 4L), ("age", 3), ("big", long.MinValue), ("price", 250.0), ("score", 0.5), ("title", "star_wars"), ("active", false),
                ("meta", """{"a": {"b": null}, "arr": [], "n": -2}"""), ("tags", """["q"]"""), ("nums", "[5, 6]"),
                ("color", "red"), ("flag", false)),
            Row(("id", 5L), ("age", 30), ("big", 9007199254740993L), ("price", 2.5), ("score", 2.5), ("title", "The Star"), ("active", true),
                ("meta", """{"a": 1, "arr": [[1, 2], 3], "n": 9007199254740993}"""), ("tags", """["x"]"""), ("nums", "[7, 8, 9]"),
                ("size", 3.5)),
            Row(("id", 6L), ("age", 0), ("big", 2L), ("price", 7.0), ("score", 7.0), ("title", ""), ("active", null),
                ("meta", """{"s": "RED", "n": 0}"""), ("tags", """["ab", "cd"]"""), ("nums", "[0]"),
                ("color", null)),
            Row(("id", 7L), ("age", 100), ("big", 3L), ("price", 1e6), ("score", 100.0), ("title", "It's \"quoted\""), ("active", true),
                ("meta", """{"arr": [1, "1", true], "n": 1e3}"""), ("tags", """["x", "y", "z"]"""), ("nums", "[1, 1]"),
                ("color", "Red")),
        };
        return new InMemoryRowSource(Schema(dynamic), rows);
    }
}
