using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Defaults on every scalar type that takes one besides GEOMETRY and TIMESTAMPTZ (those are in
/// <c>GeometryTimestamptzEngineTests</c>): Bool, Int8, Int16, Int32, Int64 (past a double's exact range), Float, Double
/// and VarChar, each once plain and once nullable. A row that leaves a field out reads its default, a nullable field
/// given null reads its default too (Milvus fills a null with the default), a value given is kept; the same after a
/// flush and a reopen, and filters see the defaults. JSON and ARRAY defaults are refused naming the field. The oracle is
/// the model of those rules applied to the rows sent.</summary>
public sealed class DefaultValueTypesTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>(type, the default as JSON, the default as read, a value a row may give instead).</summary>
    private static readonly (DataType Type, string Json, object Default, object Given)[] Types =
    [
        (DataType.Bool, "true", true, false),
        (DataType.Int8, "-5", (sbyte)-5, (sbyte)100),
        (DataType.Int16, "-300", (short)-300, (short)12_000),
        (DataType.Int32, "70000", 70_000, -1),
        (DataType.Int64, "9007199254740993", 9_007_199_254_740_993L, -9_007_199_254_740_993L),
        (DataType.Float, "1.5", 1.5f, -0.25f),
        (DataType.Double, "0.1", 0.1, 2.5e300),
        (DataType.VarChar, "\"none\"", "none", "given"),
    ];

    private static string Name(int t, bool nullable) => $"{Types[t].Type.ToString().ToLowerInvariant()}{(nullable ? "_n" : "")}";

    private static CollectionSchema Schema()
    {
        var fields = new List<FieldSchema> { FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2) };
        for (var t = 0; t < Types.Length; t++)
        {
            foreach (var nullable in new[] { false, true })
            {
                fields.Add(new FieldSchema
                {
                    Name = Name(t, nullable), DataType = Types[t].Type, Nullable = nullable, MaxLength = Types[t].Type == DataType.VarChar ? 16 : null,
                    DefaultValue = JsonDocument.Parse(Types[t].Json).RootElement,
                });
            }
        }

        return new CollectionSchema { Fields = [.. fields] };
    }

    /// <summary>Row i: i % 3 == 0 leaves every defaulted field out, 1 gives null to the nullable ones and leaves the
    /// others out, 2 gives a value to every one.</summary>
    private static (Row Sent, Dictionary<string, object> Expected) RowOf(long i)
    {
        var row = new Row { ["id"] = i, ["v"] = new[] { (float)i, 1f } };
        var expected = new Dictionary<string, object>();
        for (var t = 0; t < Types.Length; t++)
        {
            foreach (var nullable in new[] { false, true })
            {
                var name = Name(t, nullable);
                switch (i % 3)
                {
                    case 1 when nullable:
                        row[name] = null;
                        expected[name] = Types[t].Default;
                        break;
                    case 2:
                        row[name] = Types[t].Given;
                        expected[name] = Types[t].Given;
                        break;
                    default:
                        expected[name] = Types[t].Default;
                        break;
                }
            }
        }

        return (row, expected);
    }

    private static async Task AssertRowsAsync(QuiverEngine db, int count, string what)
    {
        var names = Enumerable.Range(0, Types.Length).SelectMany(t => new[] { Name(t, false), Name(t, true) }).ToList();
        var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = names, Limit = 1000 });
        Assert.Equal(count, rows.Count);
        foreach (var row in rows)
        {
            var (_, expected) = RowOf((long)row["id"]!);
            foreach (var name in names)
            {
                Assert.True(Equals(expected[name], row[name]),
                    $"{what}: row {row["id"]} field {name}: expected {AllTypes.Canonical(expected[name])}, read {AllTypes.Canonical(row[name])}");
            }
        }

        // Filters see the defaults: every row but the third of rows that gave values.
        var defaulted = Enumerable.Range(0, count).Count(i => i % 3 != 2);
        foreach (var filter in new[] { "int8 == -5", "int16_n == -300", "int64 == 9007199254740993", "bool_n == true", "varchar == \"none\"", "double_n == 0.1" })
        {
            Assert.True(defaulted == (await db.QueryAsync("c", new QueryRequest { Filter = filter, Limit = 1000 })).Count, $"{what}: '{filter}'");
        }
    }

    [Fact]
    public async Task EveryType_DefaultFillsOmittedAndNullValues_KeepsGivenOnes_AcrossFlushAndReopen()
    {
        const int count = 60;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", [.. Enumerable.Range(0, 40).Select(i => RowOf(i).Sent)]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(40, count - 40).Select(i => RowOf(i).Sent)]);
            await AssertRowsAsync(db, count, "sealed + growing");
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await AssertRowsAsync(db, count, "after reopen");
        }
    }

    [Theory]
    [InlineData(DataType.Json, "{\"a\": 1}")]
    [InlineData(DataType.Array, "[1, 2]")]
    public async Task JsonAndArrayDefaults_AreRefusedNamingTheField(DataType type, string json)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var field = (type == DataType.Array ? FieldSchema.Array("extra", DataType.Int64, 4) : FieldSchema.Scalar("extra", type))
            with { DefaultValue = JsonDocument.Parse(json).RootElement };
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2), field],
        }));
        Assert.Equal("field 'extra': default values are supported on Bool, numeric, VarChar, Geometry and Timestamptz fields only", e.Message);
        Assert.Empty(await db.ListCollectionsAsync());
    }
}
