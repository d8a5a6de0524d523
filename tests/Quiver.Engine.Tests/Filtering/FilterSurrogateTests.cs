using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>A string that is not valid UTF-16 (an unpaired surrogate, raw or as a <c>\uD800</c> escape) in a filter
/// literal or a template parameter is refused with a filter error naming it; such strings inside stored rows never
/// make a filter fail. The fuzzer found <c>j["\uD800"]</c> failing with an ArgumentException (an internal error).</summary>
public sealed class FilterSurrogateTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Vector("v", 2),
            FieldSchema.VarChar("s", 32),
            FieldSchema.Json("j"),
        ],
    };

    private async Task<QuiverEngine> OpenAsync()
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c",
        [
            new Row { ["id"] = 1L, ["v"] = new float[] { 1, 0 }, ["s"] = "a", ["j"] = JsonDocument.Parse("""{"a": "x", "b": [1, 2]}""").RootElement },
            new Row { ["id"] = 2L, ["v"] = new float[] { 0, 1 }, ["s"] = "b", ["j"] = JsonDocument.Parse("""{"a": "y"}""").RootElement },
        ]);
        return db;
    }

    /// <summary>Filters as written; <c>&lt;D800&gt;</c> stands for that raw char (a test case's data cannot carry a lone
    /// surrogate intact), <c>\\uD800</c> is the filter language's escape.</summary>
    [Theory]
    [InlineData("j[\"<D800>\"] == 1")]
    [InlineData("j[\"\\uD800\"] == 1")]
    [InlineData("j[\"\\uDC00x\"] == 1")]
    [InlineData("s == \"<DFFF>\"")]
    [InlineData("s == \"a<DBFF>\"")]
    [InlineData("s in [\"a\", \"\\uD83D\"]")]
    [InlineData("json_contains(j[\"b\"], \"\\uD800\")")]
    [InlineData("s like \"\\uD800%\"")]
    public async Task ALiteralWithAnUnpairedSurrogate_IsRefusedAsABadFilter(string written)
    {
        var filter = written.Replace("<D800>", "\uD800").Replace("<DFFF>", "\uDFFF").Replace("<DBFF>", "\uDBFF");
        await using var db = await OpenAsync();
        foreach (var sealedFirst in new[] { false, true })
        {
            if (sealedFirst)
            {
                await db.FlushAsync("c");
            }

            var ex = await Assert.ThrowsAsync<FilterException>(() => db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["id"] }));
            Assert.Equal(QuiverErrorCode.BadFilter, ex.Code);
            Assert.Contains("unpaired UTF-16 surrogate", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AWellFormedPairOrEscapedPair_IsAValidLiteral()
    {
        await using var db = await OpenAsync();
        Assert.Empty(await db.QueryAsync("c", new QueryRequest { Filter = "j[\"\\uD83D\\uDE00\"] == 1 or s == \"\uD83D\uDE00\"", OutputFields = ["id"] }));
    }

    [Theory]
    [InlineData("s == {p}")]
    [InlineData("j[\"a\"] == {p}")]
    [InlineData("s in {p}")]
    [InlineData("json_contains(j[\"b\"], {p})")]
    public async Task ATemplateParameterWithAnUnpairedSurrogate_IsRefusedAsABadFilter(string filter)
    {
        await using var db = await OpenAsync();
        object?[] values =
        [
            "\uD800",
            new[] { "a", "x\uDC00" },
            JsonDocument.Parse("\"\\uD800\"").RootElement,
            JsonDocument.Parse("[\"a\", \"\\uDBFF\"]").RootElement,
        ];
        foreach (var value in values)
        {
            var request = new QueryRequest { Filter = filter, OutputFields = ["id"], FilterParams = new Dictionary<string, object?> { ["p"] = value } };
            var ex = await Assert.ThrowsAsync<FilterException>(() => db.QueryAsync("c", request));
            Assert.Equal(QuiverErrorCode.BadFilter, ex.Code);
            Assert.Contains("unpaired UTF-16 surrogate", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Clip_ForMessages_NeverSplitsASurrogatePair()
    {
        Assert.Equal("abc", Utf16Text.Clip("abc", 3));
        Assert.Equal("ab...", Utf16Text.Clip("abcd", 2));
        // "a😀b": cutting after two chars would keep half of the pair.
        Assert.Equal("a...", Utf16Text.Clip("a\uD83D\uDE00b", 2));
        Assert.Equal("a\uD83D\uDE00...", Utf16Text.Clip("a\uD83D\uDE00b", 3));
        Assert.Equal(-1, Utf16Text.UnpairedSurrogateAt(Utf16Text.Clip(new string('\uD83D', 1) + "\uDE00" + new string('x', 30), 1)));
    }

    [Fact]
    public async Task UnterminatedLiteral_ShownClipped_KeepsPairsWhole()
    {
        await using var db = await OpenAsync();
        var filter = "s == \"" + string.Concat(Enumerable.Repeat("\uD83D\uDE00", 20));
        var ex = await Assert.ThrowsAnyAsync<QuiverException>(() => db.QueryAsync("c", new QueryRequest { Filter = filter }));
        Assert.Equal(QuiverErrorCode.BadFilter, ex.Code);
        Assert.Contains("unterminated string", ex.Message, StringComparison.Ordinal);
        Assert.Equal(-1, Utf16Text.UnpairedSurrogateAt(ex.Message));
    }
}
