using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Export;
using Quiver.Toolbox.Import;

namespace Quiver.Cli.Tests.Ops.Import;

/// <summary>Fixtures shared by the import and export tests: a schema with every type, rows that exercise each (nulls,
/// empty strings, quotes, separators, line breaks, non-ASCII, dynamic keys), and shortcuts to run the commands.</summary>
internal static class ImpExp
{
    public const int Dim = 4;

    /// <summary>Every scalar type, JSON, two arrays, a vector, nullable fields and a dynamic field.</summary>
    public static CollectionSchema AllTypes(bool dynamic = true) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("flag", DataType.Bool),
            FieldSchema.Scalar("i8", DataType.Int8),
            FieldSchema.Scalar("i16", DataType.Int16),
            FieldSchema.Scalar("i32", DataType.Int32, nullable: true),
            FieldSchema.Scalar("i64", DataType.Int64),
            FieldSchema.Scalar("f32", DataType.Float),
            FieldSchema.Scalar("f64", DataType.Double, nullable: true),
            FieldSchema.VarChar("name", 64),
            FieldSchema.VarChar("note", 64, nullable: true),
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, maxCapacity: 4, maxLength: 16),
            FieldSchema.Array("nums", DataType.Double, maxCapacity: 3, nullable: true),
            FieldSchema.Vector("v", Dim, MetricType.L2),
        ],
        EnableDynamicField = dynamic,
    };

    /// <summary>Rows 1..<paramref name="count"/> (keys in shuffled order) for <see cref="AllTypes"/>.</summary>
    public static List<Row> AllTypesRows(int count, int seed = 7)
    {
        var rng = new Random(seed);
        var names = new[] { "plain", "with,comma", "with \"quotes\"", "line\nbreak", "naïve café ✓", " padded ", "semi;colon" };
        var rows = new List<Row>(count);
        foreach (var id in Enumerable.Range(1, count).OrderBy(_ => rng.Next()))
        {
            var row = new Row
            {
                ["id"] = (long)id,
                ["flag"] = id % 2 == 0,
                ["i8"] = (sbyte)(id % 100 - 50),
                ["i16"] = (short)(id * 300),
                ["i32"] = id % 3 == 0 ? null : id * 100_000,
                ["i64"] = (long)id * 10_000_000_000L - 5,
                ["f32"] = (float)(rng.NextDouble() * 100 - 50),
                ["f64"] = id % 4 == 0 ? null : rng.NextDouble() * 1e6,
                ["name"] = names[id % names.Length],
                ["note"] = (id % 5) switch { 0 => null, 1 => "", _ => $"note {id}" },
                ["meta"] = id % 6 == 0 ? null : JsonDocument.Parse($$$"""{"k":{{{id}}},"s":"x,\"y\"","a":[1,2.5,null],"o":{"deep":true}}""").RootElement,
                ["tags"] = id % 7 == 0 ? Array.Empty<string>() : new[] { "t" + id, "comma,tag" },
                ["nums"] = id % 8 == 0 ? null : new[] { id * 0.5, -1.25 },
                ["v"] = new[] { (float)rng.NextDouble(), (float)-rng.NextDouble(), 1f / id, 0.1f },
            };
            if (id % 3 == 1)
            {
                row["color"] = id % 2 == 0 ? "red" : "blue";
                row["weight"] = id * 1.5;
                row["extra"] = JsonDocument.Parse("""{"nested":[1,"two"]}""").RootElement;
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>A folder with collection <paramref name="name"/> holding <paramref name="rows"/>; the engine is closed.</summary>
    public static async Task SeedAsync(string folder, string name, CollectionSchema schema, IReadOnlyList<Row> rows)
    {
        await using var engine = await QuiverEngine.OpenAsync(folder);
        await engine.CreateCollectionAsync(name, schema);
        if (rows.Count > 0)
        {
            await engine.InsertAsync(name, rows);
        }
    }

    /// <summary>Rows of a collection of a closed folder, in key order.</summary>
    public static async Task<List<Row>> RowsAsync(string folder, string name)
    {
        await using var engine = await QuiverEngine.OpenAsync(folder);
        var rows = await engine.QueryAsync(name, new QueryRequest { Filter = "id >= 0", OutputFields = ["*"] });
        return [.. rows.OrderBy(r => (long)r["id"]!)];
    }

    public static CliIo Io(bool json = false) => new(new StringWriter(), new StringWriter(), json);

    /// <summary>Runs an import with a live (cancellable, never cancelled) token, as the command line does; an aborted
    /// import's result is returned (as the command line reports it) rather than thrown.</summary>
    public static async Task<ImportResult> ImportAsync(TargetSpec target, ImportOptions options, CliIo? io = null)
    {
        using var live = new CancellationTokenSource();
        try
        {
            return await Importer.RunAsync(options with { Target = target }, io ?? Io(), live.Token);
        }
        catch (ImportAbortedException e)
        {
            return e.Result;
        }
    }

    /// <summary>Runs an export with a live (cancellable, never cancelled) token, as the command line does.</summary>
    public static async Task<ExportResult> ExportAsync(TargetSpec target, ExportOptions options, CliIo? io = null)
    {
        using var live = new CancellationTokenSource();
        return await Exporter.RunAsync(options with { Target = target }, io ?? Io(), live.Token);
    }

    /// <summary>A JSONL file of the given lines.</summary>
    public static string WriteLines(string path, params string[] lines)
    {
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    /// <summary>Schema for the malformed-file tests: id, name (required), score (nullable), v (dimension 4, L2).</summary>
    public static CollectionSchema Small(bool dynamic = false, bool autoId = false) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id", autoId),
            FieldSchema.VarChar("name", 32),
            FieldSchema.Scalar("score", DataType.Int64, nullable: true),
            FieldSchema.Vector("v", Dim, MetricType.L2),
        ],
        EnableDynamicField = dynamic,
    };

    /// <summary>A good JSONL line of <see cref="Small"/>.</summary>
    public static string SmallLine(long id) => $$"""{"id":{{id}},"name":"n{{id}}","score":{{id * 10}},"v":[{{id}},0.5,-1,0.25]}""";
}
