using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Engine.Tests.Engine;

/// <summary>(Size) JSON values over <see cref="JsonLimits.MaxBytes"/> (65,536 UTF-8 bytes, Milvus's limit) are refused in every
/// input form of the embedded API (text, bytes, element, node, a CLR value), and so is a row's dynamic object over it,
/// whether given key by key or packed under <c>$meta</c>; a value of exactly the limit is stored.</summary>
public sealed partial class JsonDepthTests
{
    private const int MaxBytes = JsonLimits.MaxBytes;

    /// <summary><c>{"a":"xx...x"}</c> of exactly <paramref name="bytes"/> UTF-8 bytes.</summary>
    private static string OfBytes(int bytes) => "{\"a\":\"" + new string('x', bytes - 8) + "\"}";

    private static object SizeForm(string form, int bytes) => form switch
    {
        "text" => OfBytes(bytes),
        "bytes" => Encoding.UTF8.GetBytes(OfBytes(bytes)),
        "element" => JsonDocument.Parse(OfBytes(bytes)).RootElement.Clone(),
        "node" => JsonNode.Parse(OfBytes(bytes))!,
        _ => new Dictionary<string, string> { ["a"] = new string('x', bytes - 8) },
    };

    [Theory]
    [InlineData("text")]
    [InlineData("bytes")]
    [InlineData("element")]
    [InlineData("node")]
    [InlineData("clr")]
    public async Task JsonField_OverTheLimit_IsRefused_AtTheLimit_IsStored(string form)
    {
        var ex = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("p", [RowWith(1, "meta", SizeForm(form, MaxBytes + 1))]));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Contains($"row 0, field 'meta': the JSON value is 65,537 bytes, over the limit of 65,536 bytes", ex.Message, StringComparison.Ordinal);
        await _db.InsertAsync("p", [RowWith(2, "meta", SizeForm(form, MaxBytes))]);
        var rows = await _db.QueryAsync("p", new QueryRequest { Filter = "id in [1, 2]", OutputFields = ["id"] });
        Assert.Equal([2L], rows.Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task DynamicObject_OverTheLimit_IsRefused_KeyByKeyOrPacked()
    {
        // Two keys of 40,000 characters each: each alone fits, the row's dynamic object does not.
        var row = RowWith(1, "k1", new string('x', 40_000));
        row["k2"] = new string('y', 40_000);
        var ex = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("p", [row]));
        Assert.Contains("row 0, field '$meta': the JSON value is", ex.Message, StringComparison.Ordinal);
        var packed = RowWith(2, CollectionSchema.DynamicFieldName, OfBytes(MaxBytes + 1));
        ex = await Assert.ThrowsAsync<QuiverException>(() => _db.InsertAsync("p", [packed]));
        Assert.Contains("the JSON value is 65,537 bytes", ex.Message, StringComparison.Ordinal);
        await _db.InsertAsync("p", [RowWith(3, "k1", new string('x', 40_000))]);
        var rows = await _db.QueryAsync("p", new QueryRequest { Filter = "id in [1, 2, 3]", OutputFields = ["id"] });
        Assert.Equal([3L], rows.Select(r => (long)r["id"]!));
    }
}
