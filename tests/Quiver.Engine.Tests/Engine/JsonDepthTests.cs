using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Deeply nested JSON values in rows (JSON fields as text, bytes, elements, nodes and nested rows; dynamic
/// keys; Array fields) are refused with InvalidArgument naming the field and <see cref="JsonLimits.MaxDepth"/>, never a
/// stack overflow or an internal error; values at the limit are stored, survive a reopen (WAL replay) and can be
/// filtered on with paths and json_contains.</summary>
public sealed partial class JsonDepthTests : IAsyncLifetime
{
    private const int Max = JsonLimits.MaxDepth;
    private readonly TempFolder _dir = new();
    private QuiverEngine _db = null!;

    public async Task InitializeAsync()
    {
        _db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await _db.CreateCollectionAsync("p", TestData.ProductSchema(dim: 4, dynamic: true));
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary><paramref name="levels"/> nested arrays around 1, the innermost inside an object under "a" when
    /// <paramref name="levels"/> is at least 1: <c>{"a": [[...[1]...]]}</c> has <paramref name="levels"/> levels.</summary>
    private static string Nested(int levels) =>
        levels == 0 ? "1" : "{\"a\": " + new string('[', levels - 1) + "1" + new string(']', levels - 1) + "}";

    private static Row RowWith(long id, string key, object? value)
    {
        var r = TestData.ProductRow(new Random((int)id), id, dim: 4);
        r[key] = value;
        return r;
    }

    private async Task<QuiverException> Refused(Row row)
    {
        var ex = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("p", [row]));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        return ex;
    }

    public static TheoryData<string, int> DeepForms => new()
    {
        { "text", Max + 1 },
        { "text", 100_000 },
        { "bytes", 100_000 },
        { "element", Max + 1 },
        { "element", 100_000 },
        { "node", 10_000 },
        { "rows", 100_000 },
    };

    private static object Form(string form, int levels) => form switch
    {
        "text" => Nested(levels),
        "bytes" => Encoding.UTF8.GetBytes(Nested(levels)),
        "element" => JsonDocument.Parse(Nested(levels), new JsonDocumentOptions { MaxDepth = levels + 1 }).RootElement.Clone(),
        "node" => DeepNode(levels),
        _ => DeepRow(levels),
    };

    private static JsonNode DeepNode(int levels)
    {
        JsonNode node = 1;
        for (var i = 0; i < levels; i++)
        {
            node = new JsonArray(node);
        }

        return node;
    }

    private static Row DeepRow(int levels)
    {
        var row = new Row { ["x"] = 1 };
        for (var i = 1; i < levels; i++)
        {
            row = new Row { ["x"] = row };
        }

        return row;
    }

    [Theory]
    [MemberData(nameof(DeepForms))]
    public async Task JsonField_NestedPastTheLimit_IsRefusedNamingFieldAndLimit(string form, int levels)
    {
        var ex = await Refused(RowWith(1, "meta", Form(form, levels)));
        Assert.Contains("row 0, field 'meta'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"JsonLimits.MaxDepth is {Max}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(DeepForms))]
    public async Task DynamicKey_NestedPastTheLimit_IsRefusedNamingKeyAndLimit(string form, int levels)
    {
        var ex = await Refused(RowWith(1, "extra", Form(form is "text" or "bytes" ? "element" : form, levels)));
        Assert.Contains("row 0, field 'extra'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"JsonLimits.MaxDepth is {Max}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DynamicKey_OneLevelBelowTheLimit_IsStored_AtTheLimit_IsRefused()
    {
        // The key's value sits inside the row's dynamic object, which is itself one level.
        await _db.InsertAsync("p", [RowWith(1, "extra", JsonDocument.Parse(Nested(Max - 1)).RootElement)]);
        var ex = await Refused(RowWith(2, "extra", JsonDocument.Parse(Nested(Max)).RootElement));
        Assert.Contains($"deeper than {Max - 1} levels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ArrayField_OfNestedLists_IsRefused()
    {
        object deep = "x";
        for (var i = 0; i < 100_000; i++)
        {
            deep = new List<object> { deep };
        }

        var ex = await Refused(RowWith(1, "tags", deep));
        Assert.Contains("row 0, field 'tags'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonField_AtTheLimit_IsStored_SurvivesReopen_AndFilters()
    {
        await _db.InsertAsync("p", [RowWith(1, "meta", Nested(Max)), RowWith(2, "meta", JsonDocument.Parse(Nested(Max)).RootElement), RowWith(3, "meta", "{\"a\": 2}")]);
        await _db.DisposeAsync();
        _db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });

        // meta["a"][0][0]...[0] down to the innermost 1: Max - 1 indexes after the key.
        var path = "meta[\"a\"]" + string.Concat(Enumerable.Repeat("[0]", Max - 1));
        Assert.Equal(new long[] { 1, 2 }, await Ids($"{path} == 1"));
        var inner = "meta[\"a\"]" + string.Concat(Enumerable.Repeat("[0]", Max - 2));
        Assert.Equal(new long[] { 1, 2 }, await Ids($"json_contains({inner}, 1)"));
        var list = new string('[', Max - 2) + "1" + new string(']', Max - 2);
        Assert.Equal(new long[] { 1, 2 }, await Ids($"json_contains(meta[\"a\"], {list})"));
        Assert.Equal(new long[] { 3 }, await Ids("meta[\"a\"] == 2"));
    }

    [Fact]
    public async Task DeleteWhere_WithATemplateValueNestedPastTheLimit_IsAFilterError_AndLogsNothing()
    {
        await _db.InsertAsync("p", [RowWith(1, "meta", "{\"a\": 1}")]);
        object deep = 1L;
        for (var i = 0; i < 10_000; i++)
        {
            deep = new List<object> { deep };
        }

        var ex = await Assert.ThrowsAsync<FilterException>(() => _db.DeleteWhereAsync("p", "meta[\"a\"] in {v}", new Dictionary<string, object?> { ["v"] = deep }));
        Assert.Contains("FilterLimits.MaxTemplateValueDepth", ex.Message, StringComparison.Ordinal);
        Assert.Equal(new long[] { 1 }, await Ids("id > 0"));
    }

    private async Task<long[]> Ids(string filter)
    {
        var rows = await _db.QueryAsync("p", new QueryRequest { Filter = filter, OutputFields = ["id"] });
        return [.. rows.Select(r => (long)r["id"]!).Order()];
    }
}
