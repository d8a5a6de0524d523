using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Client.Tests;

/// <summary>Strings that are not valid Unicode (an unpaired UTF-16 surrogate has no UTF-8 form): every client refuses
/// them where the caller hands them over, with the embedded engine's code, and changes nothing. Over gRPC, protobuf
/// would otherwise send such a string as U+FFFD, so a key <c>"a\uD800"</c> would name the row <c>"a\uFFFD"</c>.</summary>
public abstract partial class ClientContractTests
{
    private const string Lone = "a\uD800";
    private const string Replaced = "a\uFFFD";

    private async Task<ClientTarget> OpenWithTextKeysAsync()
    {
        var target = await OpenAsync();
        await target.Client.CreateCollectionAsync("texts", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.VarCharKey("key", 16),
                FieldSchema.VarChar("title", 16),
                FieldSchema.Json("meta", nullable: true),
                FieldSchema.Vector("vector", Dim, MetricType.L2),
            ],
            EnableDynamicField = true,
        });
        await target.Client.InsertAsync("texts",
        [
            new Row { ["key"] = Replaced, ["title"] = Replaced, ["vector"] = new float[] { 1, 0, 0, 0 } },
            new Row { ["key"] = "b", ["title"] = "b", ["vector"] = new float[] { 0, 1, 0, 0 } },
        ]);
        await target.Client.LoadCollectionAsync("texts");
        return target;
    }

    private static async Task AssertBothRowsStayAsync(IQuiverClient client)
    {
        var rows = await client.QueryAsync("texts", new QueryRequest { Filter = "key != \"\"", OutputFields = ["title"] });
        Assert.Equal([Replaced, "b"], rows.Select(r => (string)r["key"]!).Order(StringComparer.Ordinal));
    }

    private static IEnumerable<string> Messages(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            yield return x.Message;
        }
    }

    private static void AssertNamesTheSurrogate(QuiverException e) =>
        Assert.True(Messages(e).Any(m => m.Contains("surrogate", StringComparison.Ordinal)), e.Message);

    [Fact]
    public async Task LoneSurrogate_KeysOfDeleteAndGet_AreRefused_AndTheRowWithU_FFFD_Stays()
    {
        await using var t = await OpenWithTextKeysAsync();
        AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.DeleteAsync("texts", ["b", Lone]), QuiverErrorCode.InvalidArgument));
        AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.GetAsync("texts", [Lone]), QuiverErrorCode.InvalidArgument));
        await AssertBothRowsStayAsync(t.Client);
    }

    [Fact]
    public async Task LoneSurrogate_InFilterText_IsBadFilter_ForQueryDeleteAndSearch()
    {
        await using var t = await OpenWithTextKeysAsync();
        var filter = $"key == \"{Lone}\"";
        AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.QueryAsync("texts", new QueryRequest { Filter = filter }), QuiverErrorCode.BadFilter));
        AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.DeleteWhereAsync("texts", filter), QuiverErrorCode.BadFilter));
        AssertNamesTheSurrogate(await ThrowsQuiver(
            () => t.Client.SearchAsync("texts", new SearchRequest { Vectors = [[1, 0, 0, 0]], Filter = filter }), QuiverErrorCode.BadFilter));
        await AssertBothRowsStayAsync(t.Client);
    }

    [Fact]
    public async Task LoneSurrogate_InFilterParameters_IsBadFilter_ForQueryDeleteAndSearch()
    {
        await using var t = await OpenWithTextKeysAsync();
        var one = new Dictionary<string, object?> { ["k"] = Lone };
        var list = new Dictionary<string, object?> { ["k"] = new[] { "b", Lone } };
        foreach (var (filter, parameters) in new[] { ("key == {k}", one), ("key in {k}", list) })
        {
            AssertNamesTheSurrogate(await ThrowsQuiver(
                () => t.Client.QueryAsync("texts", new QueryRequest { Filter = filter, FilterParams = parameters }), QuiverErrorCode.BadFilter));
            AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.DeleteWhereAsync("texts", filter, parameters), QuiverErrorCode.BadFilter));
            AssertNamesTheSurrogate(await ThrowsQuiver(
                () => t.Client.SearchAsync("texts", new SearchRequest { Vectors = [[1, 0, 0, 0]], Filter = filter, FilterParams = parameters }),
                QuiverErrorCode.BadFilter));
        }

        await AssertBothRowsStayAsync(t.Client);
    }

    [Fact]
    public async Task LoneSurrogate_InRowValues_RefusesTheWholeBatch()
    {
        await using var t = await OpenWithTextKeysAsync();
        Row Good(string key) => new() { ["key"] = key, ["title"] = "t", ["vector"] = new float[] { 0, 0, 1, 0 } };
        var cases = new List<Row>
        {
            new(Good("c")) { ["key"] = Lone },
            new(Good("c")) { ["title"] = Lone },
            new(Good("c")) { ["meta"] = new Dictionary<string, object?> { ["name"] = Lone } },
            new(Good("c")) { ["meta"] = new Dictionary<string, object?> { [Lone] = 1 } },
            new(Good("c")) { ["meta"] = new[] { "x", Lone } },
            new(Good("c")) { ["extra"] = Lone },
            new(Good("c")) { ["meta"] = new JsonObject { ["name"] = Lone } },
            new(Good("c")) { ["meta"] = new JsonObject { [Lone] = 1 } },
            new(Good("c")) { ["extra"] = new JsonArray("x", Lone) },
            new(Good("c")) { ["meta"] = new Dictionary<string, object?> { ["c"] = '\uD800' } },
            new(Good("c")) { ["meta"] = new Dictionary<string, object?> { ["chars"] = new[] { 'x', '\uDC00' } } },
            new(Good("c")) { ["meta"] = new Dictionary<string, object?> { ["e"] = JsonDocument.Parse("\"\\uD800\"").RootElement } },
            new(Good("c")) { ["meta"] = new Dictionary<string, object?> { ["n"] = JsonNode.Parse("[\"\\uD800\"]") } },
        };
        foreach (var bad in cases)
        {
            AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.InsertAsync("texts", [Good("d"), bad]), QuiverErrorCode.InvalidArgument));
            AssertNamesTheSurrogate(await ThrowsQuiver(() => t.Client.UpsertAsync("texts", [Good("d"), bad]), QuiverErrorCode.InvalidArgument));
        }

        await AssertBothRowsStayAsync(t.Client);
    }
}

/// <summary>The remote client's last check before a request leaves: any string field of the message (nested messages,
/// lists and maps included) holding an unpaired surrogate is named and refused, where protobuf would send U+FFFD.</summary>
public sealed class WellFormedRequestsTests
{
    [Fact]
    public void Problem_NamesTheFirstBadStringField_InNestedMessagesListsAndMaps()
    {
        var query = new Quiver.Protocol.Milvus.QueryRequest { CollectionName = "c", Expr = "id > 0" };
        query.OutputFields.Add(["ok", "a\uD800"]);
        Assert.Equal(
            "output_fields[1] holds an unpaired UTF-16 surrogate (U+D800 at index 1), which is not a valid string",
            Quiver.Client.Remote.WellFormedRequests.Problem(query, ""));

        var search = new Quiver.Protocol.Milvus.SearchRequest { CollectionName = "c" };
        search.SearchParams.Add(new Quiver.Protocol.Common.KeyValuePair { Key = "params", Value = "{\"x\": \"\uDC00\"}" });
        Assert.StartsWith("search_params[0].value holds an unpaired", Quiver.Client.Remote.WellFormedRequests.Problem(search, ""), StringComparison.Ordinal);

        var template = new Quiver.Protocol.Milvus.QueryRequest { CollectionName = "c" };
        template.ExprTemplateValues["k"] = new Quiver.Protocol.Schema.TemplateValue { StringVal = "\uD800x" };
        Assert.StartsWith("expr_template_values[\"k\"].string_val holds", Quiver.Client.Remote.WellFormedRequests.Problem(template, ""), StringComparison.Ordinal);

        var insert = new Quiver.Protocol.Milvus.InsertRequest { CollectionName = "c" };
        var column = new Quiver.Protocol.Schema.FieldData { FieldName = "title", Scalars = new() { StringData = new() } };
        column.Scalars.StringData.Data.Add(["fine", "\uD83D\uDE00 paired", "\uDE00"]);
        insert.FieldsData.Add(column);
        Assert.StartsWith("fields_data[0].scalars.string_data.data[2] holds", Quiver.Client.Remote.WellFormedRequests.Problem(insert, ""), StringComparison.Ordinal);

        var fine = new Quiver.Protocol.Milvus.QueryRequest { CollectionName = "c", Expr = "title == \"\uD83D\uDE00\"" };
        fine.OutputFields.Add("title");
        Assert.Null(Quiver.Client.Remote.WellFormedRequests.Problem(fine, ""));
    }

    [Fact]
    public async Task ARequestHoldingALoneSurrogate_IsRefusedBeforeItIsSent_NamingTheField()
    {
        await using var t = await ClientTarget.RemoteAsync();
        await t.Client.CreateCollectionAsync("items", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", 2, MetricType.L2)],
        });
        var e = await Assert.ThrowsAnyAsync<QuiverException>(() => t.Client.HasPartitionAsync("items", "p\uD800"));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Equal("HasPartition: request field partition_name holds an unpaired UTF-16 surrogate (U+D800 at index 1), which is not a valid string", e.Message);
        Assert.False(await t.Client.HasPartitionAsync("items", "p"));
    }
}
