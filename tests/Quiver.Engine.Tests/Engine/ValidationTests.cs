using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Every write-validation rule: the error names the row, field and rule, and a refused batch leaves no trace.</summary>
public sealed class ValidationTests : IAsyncLifetime
{
    private readonly TempFolder _dir = new();
    private QuiverEngine _db = null!;

    public async Task InitializeAsync()
    {
        _db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await _db.CreateCollectionAsync("p", TestData.ProductSchema(dim: 4, metric: MetricType.Cosine));
        await _db.CreateCollectionAsync("strict", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.VarCharKey("pk", 8),
                FieldSchema.Scalar("small", DataType.Int8),
                FieldSchema.Scalar("f", DataType.Float, nullable: true),
                new FieldSchema { Name = "d", DataType = DataType.Int32, DefaultValue = System.Text.Json.JsonDocument.Parse("7").RootElement },
                FieldSchema.Vector("v", 2, MetricType.L2),
            ],
        });
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        _dir.Dispose();
    }

    private static Row Good(long id)
    {
        var r = TestData.ProductRow(new Random((int)id), id, dim: 4);
        return r;
    }

    private async Task<QuiverException> Refused(string collection, params Row[] rows)
    {
        var ex = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync(collection, rows));
        var count = await _db.QueryAsync(collection, new QueryRequest { OutputFields = ["count(*)"] });
        Assert.Equal(0L, count[0]["count(*)"]);
        return ex;
    }

    [Theory]
    [InlineData(new float[] { 1, 2, 3 }, "dimension 3, expected 4")]
    [InlineData(new float[] { 1, float.NaN, 0, 0 }, "component 1 is NaN")]
    [InlineData(new float[] { 1, float.PositiveInfinity, 0, 0 }, "component 1 is Infinity")]
    [InlineData(new float[] { 0, 0, 0, 0 }, "zero vector cannot be compared under COSINE")]
    public async Task Insert_BadVector_NamesRowFieldAndRule(float[] vector, string rule)
    {
        var bad = Good(2);
        bad["embedding"] = vector;
        var ex = await Refused("p", Good(1), bad);
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Contains("row 1, field 'embedding'", ex.Message);
        Assert.Contains(rule, ex.Message);
    }

    [Fact]
    public async Task Insert_TypeMismatch_MissingField_UnknownField_AreRefused()
    {
        var r = Good(1);
        r["price"] = "cheap";
        Assert.Contains("row 0, field 'price': expected Double, got a string", (await Refused("p", r)).Message);

        r = Good(1);
        r.Remove("title");
        Assert.Contains("row 0, field 'title': missing required field", (await Refused("p", r)).Message);

        r = Good(1);
        r["colour"] = "red";
        Assert.Contains("field 'colour': unknown field, and the collection has no dynamic field", (await Refused("p", r)).Message);
    }

    [Fact]
    public async Task Insert_LimitsOfStringsJsonArraysAndIntegers_AreEnforced()
    {
        var r = Good(1);
        r["title"] = new string('x', 129);
        Assert.Contains("exceeds max_length 128", (await Refused("p", r)).Message);

        r = Good(1);
        r["meta"] = "{\"a\": ";
        Assert.Contains("field 'meta': malformed JSON", (await Refused("p", r)).Message);

        r = Good(1);
        r["tags"] = Enumerable.Range(0, 9).Select(i => "t").ToArray();
        Assert.Contains("array has 9 elements, exceeding max_capacity 8", (await Refused("p", r)).Message);

        r = Good(1);
        r["tags"] = new object[] { "ok", 5 };
        Assert.Contains("array element 1: expected VarChar", (await Refused("p", r)).Message);

        var s = new Row { ["pk"] = "a", ["small"] = 200, ["v"] = new float[] { 1, 2 } };
        Assert.Contains("value 200 is out of range for Int8", (await Refused("strict", s)).Message);

        s = new Row { ["pk"] = "toolongkey", ["small"] = 1, ["v"] = new float[] { 1, 2 } };
        Assert.Contains("field 'pk'", (await Refused("strict", s)).Message);
    }

    [Fact]
    public async Task Insert_DuplicateKeysInBatch_AreRefused()
    {
        var ex = await Refused("p", Good(1), Good(2), Good(1));
        Assert.Contains("rows 0 and 2 have the same primary key 1", ex.Message);
    }

    [Fact]
    public async Task NullableAndDefault_FillMissingValues()
    {
        await _db.InsertAsync("strict", [new Row { ["pk"] = "a", ["small"] = 1, ["v"] = new float[] { 1, 2 } }]);
        var row = Assert.Single(await _db.GetAsync("strict", ["a"]));
        Assert.Null(row["f"]);
        Assert.Equal(7, row["d"]);
        var nulls = await _db.QueryAsync("strict", new QueryRequest { Filter = "f is null and d == 7", OutputFields = ["count(*)"] });
        Assert.Equal(1L, nulls[0]["count(*)"]);
    }

    [Fact]
    public async Task Schema_Errors_NameTheField()
    {
        async Task<string> Bad(CollectionSchema s) =>
            (await Assert.ThrowsAsync<QuiverException>(() => _db.CreateCollectionAsync("x", s))).Message;

        Assert.Contains("exactly one primary key", await Bad(new CollectionSchema { Fields = [FieldSchema.Vector("v", 2)] }));
        Assert.Contains("dimension in 1..32768", await Bad(new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 40_000)] }));
        Assert.Contains("at least one vector field", await Bad(new CollectionSchema { Fields = [FieldSchema.Int64Key("id")] }));
        Assert.Contains("max_length in 1..65535", await Bad(new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("s", 70_000), FieldSchema.Vector("v", 2)] }));
        Assert.Contains("declared twice", await Bad(new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2), FieldSchema.Vector("v", 2)] }));
        Assert.Contains("auto_id is only allowed", await Bad(new CollectionSchema { Fields = [FieldSchema.VarCharKey("id", 5) with { AutoId = true }, FieldSchema.Vector("v", 2)] }));
    }
}
