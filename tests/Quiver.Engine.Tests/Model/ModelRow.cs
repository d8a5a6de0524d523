using System.Globalization;
using System.Text.Json;

namespace Quiver.Engine.Tests.Model;

/// <summary>A row of the in-memory model, with every field typed. The JSON field <c>meta</c> is either null, or an object
/// whose "color" and "size" keys may each be missing; <c>brand</c> and <c>level</c> live in the dynamic field and are
/// absent when null.</summary>
internal sealed record ModelRow
{
    public required object Key { get; init; }

    public required string Partition { get; init; }

    public required int N { get; init; }

    public required double Price { get; init; }

    public required string Cat { get; init; }

    public int? Stock { get; init; }

    public string[]? Tags { get; init; }

    public bool MetaIsNull { get; init; }

    public string? MetaColor { get; init; }

    public int? MetaSize { get; init; }

    public string? Brand { get; init; }

    public long? Level { get; init; }

    public required float[] Vec { get; init; }

    public static readonly string[] Cats = ["alpha", "beta", "bravo", "gamma", "delta"];

    public static CollectionSchema Schema(bool stringKeys, MetricType metric, int dim) => new()
    {
        Fields =
        [
            stringKeys ? FieldSchema.VarCharKey("pk", 16) : FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("n", DataType.Int32),
            FieldSchema.Scalar("price", DataType.Double),
            FieldSchema.VarChar("cat", 16),
            FieldSchema.Scalar("stock", DataType.Int32, nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, maxCapacity: 4, maxLength: 8, nullable: true),
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Vector("vec", dim, metric),
        ],
        EnableDynamicField = true,
    };

    public static ModelRow Random(Random rng, object key, string partition, int dim)
    {
        var metaIsNull = rng.Next(5) == 0;
        return new ModelRow
        {
            Key = key,
            Partition = partition,
            N = rng.Next(20),
            Price = Math.Round(rng.NextDouble() * 100, 2),
            Cat = Cats[rng.Next(Cats.Length)],
            Stock = rng.Next(4) == 0 ? null : rng.Next(50),
            Tags = rng.Next(4) == 0 ? null : [.. Enumerable.Range(0, rng.Next(1, 4)).Select(_ => "t" + rng.Next(5).ToString(CultureInfo.InvariantCulture))],
            MetaIsNull = metaIsNull,
            MetaColor = metaIsNull || rng.Next(5) == 0 ? null : "c" + rng.Next(3).ToString(CultureInfo.InvariantCulture),
            MetaSize = metaIsNull || rng.Next(5) == 0 ? null : rng.Next(10),
            Brand = rng.Next(3) == 0 ? null : rng.Next(2) == 0 ? "acme" : "other",
            Level = rng.Next(3) == 0 ? null : rng.Next(6),
            Vec = Testing.TestData.Vector(rng, dim),
        };
    }

    public string KeyField => Key is string ? "pk" : "id";

    /// <summary>The row as the engine takes it.</summary>
    public Row ToEngineRow()
    {
        var row = new Row
        {
            [KeyField] = Key,
            ["n"] = N,
            ["price"] = Price,
            ["cat"] = Cat,
            ["stock"] = Stock,
            ["tags"] = Tags,
            ["meta"] = MetaJson(),
            ["vec"] = Vec,
        };
        if (Brand is not null)
        {
            row["brand"] = Brand;
        }

        if (Level is not null)
        {
            row["level"] = Level;
        }

        return row;
    }

    private string? MetaJson()
    {
        if (MetaIsNull)
        {
            return null;
        }

        var parts = new List<string>();
        if (MetaColor is not null)
        {
            parts.Add($"\"color\": \"{MetaColor}\"");
        }

        if (MetaSize is not null)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"\"size\": {MetaSize}"));
        }

        return "{" + string.Join(", ", parts) + "}";
    }

    /// <summary>Null if <paramref name="actual"/> (all fields, as read back) equals this row, else what differs.</summary>
    public string? Difference(Row actual)
    {
        var problems = new List<string>();
        void Check(bool ok, string field, object? got)
        {
            if (!ok)
            {
                problems.Add($"{field}: got {Show(got)}");
            }
        }

        Check(Equals(actual.GetValueOrDefault(KeyField), Key), KeyField, actual.GetValueOrDefault(KeyField));
        Check(actual.GetValueOrDefault("n") is int n && n == N, "n", actual.GetValueOrDefault("n"));
        Check(actual.GetValueOrDefault("price") is double p && p == Price, "price", actual.GetValueOrDefault("price"));
        Check(actual.GetValueOrDefault("cat") is string c && c == Cat, "cat", actual.GetValueOrDefault("cat"));
        Check(Equals(actual.GetValueOrDefault("stock"), Stock), "stock", actual.GetValueOrDefault("stock"));
        var tags = actual.GetValueOrDefault("tags");
        Check(Tags is null ? tags is null : tags is JsonElement { ValueKind: JsonValueKind.Array } ta && ta.EnumerateArray().Select(e => e.GetString()).SequenceEqual(Tags), "tags", tags);
        var meta = actual.GetValueOrDefault("meta");
        Check(MetaIsNull ? meta is null : meta is JsonElement { ValueKind: JsonValueKind.Object } mo && SameMeta(mo), "meta", meta);
        var brand = actual.GetValueOrDefault("brand");
        Check(Brand is null ? !actual.ContainsKey("brand") : brand is JsonElement { ValueKind: JsonValueKind.String } b && b.GetString() == Brand, "brand", brand);
        var level = actual.GetValueOrDefault("level");
        Check(Level is null ? !actual.ContainsKey("level") : level is JsonElement { ValueKind: JsonValueKind.Number } l && l.GetInt64() == Level, "level", level);
        Check(actual.GetValueOrDefault("vec") is float[] v && v.AsSpan().SequenceEqual(Vec), "vec", actual.GetValueOrDefault("vec"));
        var expectedKeys = new HashSet<string>([KeyField, "n", "price", "cat", "stock", "tags", "meta", "vec"]);
        if (Brand is not null)
        {
            expectedKeys.Add("brand");
        }

        if (Level is not null)
        {
            expectedKeys.Add("level");
        }

        Check(expectedKeys.SetEquals(actual.Keys), "field set", string.Join(",", actual.Keys));
        return problems.Count == 0 ? null : $"row {Key}: {string.Join("; ", problems)}";
    }

    private bool SameMeta(JsonElement meta)
    {
        var hasColor = meta.TryGetProperty("color", out var color);
        var hasSize = meta.TryGetProperty("size", out var size);
        return hasColor == (MetaColor is not null) && (!hasColor || color.GetString() == MetaColor)
            && hasSize == (MetaSize is not null) && (!hasSize || size.GetInt32() == MetaSize)
            && meta.EnumerateObject().Count() == (hasColor ? 1 : 0) + (hasSize ? 1 : 0);
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        float[] f => "[" + string.Join(",", f.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]",
        JsonElement e => e.GetRawText(),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) + $" ({value.GetType().Name})",
    };
}
