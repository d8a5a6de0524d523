using System.Text;
using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>A value that is not a valid string (an unpaired UTF-16 surrogate: a raw char in a .NET string, or a
/// <c>\uD800</c> escape in JSON text, which JSON's grammar allows) has no UTF-8 form. Every way it can enter a row is
/// refused with InvalidArgument naming the row and the field, and nothing of the batch is written. Before, a VarChar
/// kept it (altered), and a JSON value failed deep in the log's encoder with a JsonException (an internal error).</summary>
public sealed class UnpairedSurrogateWriteTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Row Good(long id) => new() { ["id"] = id, ["v"] = new float[] { 1, 0 }, ["s"] = "ok", ["tags"] = new[] { "a" }, ["j"] = "{\"a\": 1}" };

    public static TheoryData<string, string> BadValues() => new()
    {
        { "s", "varchar" },
        { "tags", "array-element" },
        { "j", "json-element-escape" },
        { "j", "json-element-key-escape" },
        { "j", "json-text-escape" },
        { "j", "json-text-raw" },
        { "j", "json-bytes-not-utf8" },
        { "j", "json-element-not-utf8" },
        { "j", "json-bytes-escape" },
        { "j", "json-clr-string" },
        { "$meta", "dynamic-packed-escape" },
        { "x", "dynamic-clr-string" },
        { "x", "dynamic-element-escape" },
        { "<D800>", "dynamic-key" },
    };

    private static object Value(string form) => form switch
    {
        "varchar" => "a\uD800b",
        "array-element" => new[] { "ok", "\uDC00" },
        "json-element-escape" => JsonDocument.Parse("{\"a\": [\"\\uD800\"]}").RootElement,
        "json-element-key-escape" => JsonDocument.Parse("{\"\\uDBFFx\": 1}").RootElement,
        "json-text-escape" => "{\"a\": \"x\\uDC00\"}",
        "json-text-raw" => "{\"a\": \"x\uD800\"}",
        "json-bytes-not-utf8" => new byte[] { (byte)'[', (byte)'"', 0xC0, 0x80, (byte)'"', (byte)']' },
        "json-element-not-utf8" => JsonDocument.Parse(new byte[] { (byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}' }).RootElement,
        "json-bytes-escape" => Encoding.UTF8.GetBytes("[\"\\uD83D\"]"),
        "json-clr-string" => new Dictionary<string, object> { ["a"] = "\uD800" },
        "dynamic-packed-escape" => JsonDocument.Parse("{\"k\": \"\\uD800\"}").RootElement,
        "dynamic-clr-string" => "\uDFFF",
        "dynamic-element-escape" => JsonDocument.Parse("\"\\uD800\"").RootElement,
        "dynamic-key" => 1L,
        _ => throw new ArgumentOutOfRangeException(nameof(form)),
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task AnUnpairedSurrogate_IsRefusedNamingTheRowAndField_AndNothingIsWritten(string field, string form)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.Vector("v", 2),
                FieldSchema.VarChar("s", 32),
                FieldSchema.Array("tags", DataType.VarChar, 4, maxLength: 8),
                FieldSchema.Json("j"),
            ],
            EnableDynamicField = true,
        });

        var bad = Good(2);
        bad[field.Replace("<D800>", "\uD800")] = Value(form); // test data cannot carry a lone surrogate intact
        foreach (var upsert in new[] { false, true })
        {
            var ex = await Assert.ThrowsAsync<QuiverException>(() => upsert ? db.UpsertAsync("c", [Good(1), bad]) : db.InsertAsync("c", [Good(1), bad]));
            Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
            Assert.Contains("nothing written: row 1, field '", ex.Message, StringComparison.Ordinal);
            Assert.Matches("unpaired UTF-16 surrogate|not valid UTF-8", ex.Message);
        }

        Assert.Empty(await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["id"] }));

        // The collection still takes good rows and reads them back.
        await db.InsertAsync("c", [Good(1), Good(2)]);
        await db.FlushAsync("c");
        Assert.Equal(2, (await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["id", "s", "j"] })).Count);
    }

    [Fact]
    public async Task ADeleteWhoseUnusedTemplateValueIsNoValidString_IsRefused_AndDeletesNothing()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2)] });
        await db.InsertAsync("c", [new Row { ["id"] = 1L, ["v"] = new float[] { 1, 0 } }]);
        var parameters = new Dictionary<string, object?> { ["x"] = 1L, ["unused"] = JsonDocument.Parse("\"\\uD800\"").RootElement };
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.DeleteWhereAsync("c", "id == {x}", parameters));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Single(await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["id"] }));
    }
}
