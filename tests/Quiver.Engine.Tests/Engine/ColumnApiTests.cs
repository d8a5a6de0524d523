using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>The column-oriented write and read API against the row API as the oracle: a batch written as columns
/// stores exactly what the same rows store, a bad batch is refused with the same message in both forms, and query, get
/// and search answer the same rows as columns as they do as dictionaries.</summary>
public sealed class ColumnApiTests : IAsyncLifetime
{
    private readonly TempFolder _dir = new();
    private readonly CollectionSchema _schema = AllTypes.Schema();
    private QuiverEngine _db = null!;

    public async Task InitializeAsync()
    {
        _db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await _db.CreateCollectionAsync("rows", _schema);
        await _db.CreateCollectionAsync("cols", _schema);
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<List<string>> AllRowsAsync(string collection) =>
        [.. (await _db.QueryAsync(collection, new QueryRequest { Filter = "id >= 0", OutputFields = ["*"] }))
            .OrderBy(r => (long)r["id"]!).Select(AllTypes.Canonical)];

    [Fact]
    public async Task InsertColumns_StoresWhatTheSameRowsStore_EveryType()
    {
        var rows = AllTypes.Rows(seed: 7, count: 60);
        await _db.InsertAsync("rows", rows);
        var result = await _db.InsertAsync("cols", AllTypes.ToColumns(_schema, rows));
        Assert.Equal(60, result.Count);
        Assert.Equal(rows.Select(r => r["id"]), result.Keys);

        var expected = rows.Select(r => AllTypes.Canonical(AllTypes.Expected(_schema, r))).ToList();
        Assert.Equal(expected, await AllRowsAsync("rows"));
        Assert.Equal(expected, await AllRowsAsync("cols"));

        // After a flush the rows come from a sealed segment; after a reopen from the WAL and the segment files.
        await _db.FlushAsync("cols");
        Assert.Equal(expected, await AllRowsAsync("cols"));
    }

    [Fact]
    public async Task UpsertColumns_ReplacesByKey()
    {
        await _db.InsertAsync("cols", AllTypes.ToColumns(_schema, AllTypes.Rows(seed: 1, count: 10)));
        var replacement = AllTypes.Rows(seed: 2, count: 5, firstId: 8);
        await _db.UpsertAsync("cols", AllTypes.ToColumns(_schema, replacement));
        await _db.InsertAsync("rows", AllTypes.Rows(seed: 1, count: 10));
        await _db.UpsertAsync("rows", replacement);
        Assert.Equal(await AllRowsAsync("rows"), await AllRowsAsync("cols"));
        Assert.Equal(12, (await AllRowsAsync("cols")).Count);
    }

    [Fact]
    public async Task InsertColumns_CallerReusingItsArrays_DoesNotChangeTheStoredRows()
    {
        var rows = AllTypes.Rows(seed: 3, count: 4);
        var batch = AllTypes.ToColumns(_schema, rows);
        await _db.InsertAsync("cols", batch);
        var before = await AllRowsAsync("cols");
        Array.Fill(batch.Find("i32")!.Longs!, 0);
        Array.Fill(batch.Find("vec")!.Vectors!, 9f);
        Array.Fill(batch.Find("title")!.Strings!, "changed");
        Assert.Equal(before, await AllRowsAsync("cols"));
    }

    /// <summary>A bad value in row 2, given to both APIs; the messages must be equal.</summary>
    public static TheoryData<string, string> BadValues() => new()
    {
        { "i8", "200" },
        { "i16", "40000" },
        { "i32", "3000000000" },
        { "f32", "1e300" },
        { "f64", "NaN" },
        { "title", "a string far longer than the thirty-two bytes allowed" },
        { "label", "too long!" },
        { "i32", "null" },
        { "flag", "null" },
        { "nums", "[1,\"x\"]" },
        { "tags", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]" },
        { "bytes", "[300]" },
        { "vec", "[1,NaN,0,0]" },
        { "id", "duplicate" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task InsertColumns_BadValue_RefusedWithTheRowApisMessage(string field, string value)
    {
        var rows = AllTypes.Rows(seed: 11, count: 4);
        rows[2][field] = field switch
        {
            _ when value == "null" => null,
            "id" => rows[0]["id"],
            "i8" or "i16" or "i32" => long.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
            "f32" or "f64" => double.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
            "title" or "label" => value,
            "vec" => new[] { 1f, float.NaN, 0, 0 },
            _ => JsonDocument.Parse(value).RootElement.Clone(),
        };
        var byRows = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("rows", rows));
        var byColumns = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("cols", AllTypes.ToColumns(_schema, rows)));
        Assert.Equal(QuiverErrorCode.InvalidArgument, byColumns.Code);
        Assert.Equal(byRows.Message, byColumns.Message);
        Assert.Contains(field == "id" ? "rows 0 and 2" : $"row 2, field '{field}'", byColumns.Message, StringComparison.Ordinal);
        Assert.Empty(await AllRowsAsync("cols"));
    }

    [Fact]
    public async Task InsertColumns_ShapeMistakes_AreNamed()
    {
        var rows = AllTypes.Rows(seed: 5, count: 3);
        var good = AllTypes.ToColumns(_schema, rows);

        var shortColumn = Rebuild(good, "i32", c => new FieldColumn { Name = "i32", Longs = [1, 2] });
        var e = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("cols", shortColumn));
        Assert.Equal("insert rejected, nothing written: field 'i32' has 2 values for 3 rows", e.Message);

        var wrongKind = Rebuild(good, "i32", c => new FieldColumn { Name = "i32", Strings = ["a", "b", "c"] });
        e = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("cols", wrongKind));
        Assert.Equal("insert rejected, nothing written: row 0, field 'i32': expected Int32, got a VarChar column", e.Message);

        var missing = Rebuild(good, "i8", _ => null);
        e = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("cols", missing));
        Assert.Equal("insert rejected, nothing written: row 0, field 'i8': missing required field", e.Message);

        var unknown = Rebuild(good, "i8", c => c).Add(new FieldColumn { Name = "nope", Longs = [1, 2, 3] });
        e = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("cols", unknown));
        Assert.Contains("row 0, field 'nope': unknown field", e.Message, StringComparison.Ordinal);

        var notObject = Rebuild(good, "i8", c => c);
        notObject.Dynamic = [default, JsonDocument.Parse("[1]").RootElement, default];
        e = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("cols", notObject));
        Assert.Equal("insert rejected, nothing written: row 1, field '$meta': the dynamic field must be a JSON object", e.Message);

        Assert.Empty(await AllRowsAsync("cols"));
    }

    [Fact]
    public async Task InsertColumns_MissingNullableAndDefaultedColumns_AreNullAndDefault()
    {
        var rows = AllTypes.Rows(seed: 9, count: 3);
        var batch = AllTypes.ToColumns(_schema, rows);
        var without = new ColumnBatch(3) { Dynamic = batch.Dynamic };
        foreach (var c in batch.Columns.Where(c => c.Name is not ("title" or "label" or "rating")))
        {
            without.Add(c);
        }

        await _db.InsertAsync("cols", without);
        var stored = await _db.QueryAsync("cols", new QueryRequest { Filter = "id >= 0", OutputFields = ["title", "label", "rating"] });
        Assert.All(stored, r => Assert.Null(r["title"]));
        Assert.All(stored, r => Assert.Equal("none", r["label"]));
        Assert.All(stored, r => Assert.Equal(3, r["rating"]));
    }

    [Fact]
    public async Task QueryGetAndSearchColumns_AnswerTheRowApisRows()
    {
        var rows = AllTypes.Rows(seed: 21, count: 80);
        await _db.InsertAsync("cols", AllTypes.ToColumns(_schema, rows.Take(50).ToList()));
        await _db.FlushAsync("cols");
        await _db.InsertAsync("cols", AllTypes.ToColumns(_schema, rows.Skip(50).ToList()));
        await _db.DeleteAsync("cols", [3L, 60L]);

        string[][] outputs = [["*"], ["title", "color", "vec"], ["$meta", "nums"], []];
        foreach (var output in outputs)
        {
            var query = new QueryRequest { Filter = "i32 > 100 or id < 10", OutputFields = output };
            var asRows = await _db.QueryAsync("cols", query);
            var asColumns = await _db.QueryColumnsAsync("cols", query);
            Assert.Equal(asRows.Select(AllTypes.Canonical), asColumns.ToRows(_schema).Select(AllTypes.Canonical));
            Assert.Equal("id", asColumns.Columns[0].Name);

            object[] keys = [5L, 77L, 3L, 12L];
            var got = await _db.GetAsync("cols", keys, output);
            var gotColumns = await _db.GetColumnsAsync("cols", keys, output);
            Assert.Equal(got.Select(AllTypes.Canonical), gotColumns.ToRows(_schema).Select(AllTypes.Canonical));

            var search = new SearchRequest { Vectors = [(float[])rows[4]["vec"]!, [0.5f, 0.5f, 0, 0]], Limit = 7, Offset = 1, Filter = "flag == true", OutputFields = output };
            var hits = await _db.SearchAsync("cols", search);
            var columns = await _db.SearchColumnsAsync("cols", search);
            Assert.Equal(hits.Hits.Select(h => h.Count), columns.Counts);
            var flat = hits.Hits.SelectMany(h => h).ToList();
            Assert.Equal(flat.Select(h => h.Score), columns.Scores);
            Assert.Equal(flat.Select(h => h.Id), columns.Ids.Longs!.Select(k => (object)k));
            Assert.Equal(flat.Select(h => AllTypes.Canonical(h.Fields)), columns.Fields.ToRows(_schema).Select(AllTypes.Canonical));
        }

        var count = await _db.QueryColumnsAsync("cols", new QueryRequest { Filter = "id >= 0", OutputFields = ["count(*)"] });
        Assert.Equal([78L], count.Find("count(*)")!.Longs!);
    }

    [Fact]
    public async Task SearchColumns_GroupBy_MatchesTheRowApi()
    {
        await _db.InsertAsync("cols", AllTypes.ToColumns(_schema, AllTypes.Rows(seed: 4, count: 40)));
        var search = new SearchRequest { Vectors = [[1, 0, 0, 0]], Limit = 3, GroupByField = "flag", GroupSize = 2, OutputFields = ["flag"] };
        var hits = await _db.SearchAsync("cols", search);
        var columns = await _db.SearchColumnsAsync("cols", search);
        Assert.Equal(hits.Hits[0].Select(h => h.Id), columns.Ids.Longs!.Select(k => (object)k));
        Assert.Equal(hits.Hits[0].Select(h => h.Fields["flag"]), columns.Fields.Find("flag")!.Bools!.Select(b => (object)b));
    }

    private static ColumnBatch Rebuild(ColumnBatch batch, string name, Func<FieldColumn, FieldColumn?> change)
    {
        var result = new ColumnBatch(batch.RowCount) { Dynamic = batch.Dynamic };
        foreach (var c in batch.Columns)
        {
            if ((c.Name == name ? change(c) : c) is { } kept)
            {
                result.Add(kept);
            }
        }

        return result;
    }
}
