using Quiver.Testing;

namespace Quiver.Client.Tests;

/// <summary>The <c>client-</c> rows of docs/errors.md "Library refusals": what the C# client connected to a server
/// refuses before it sends a request, each made to happen through the public API against a server in this process.</summary>
public sealed class ClientErrorTableTests
{
    private const string Lone = "a\uD800";

    private static readonly Dictionary<string, Func<IQuiverClient, Task>> Cases = new(StringComparer.Ordinal)
    {
        ["client-key-unpaired-surrogate"] = c => c.DeleteAsync("texts", ["b", Lone]),
        ["client-filter-unpaired-surrogate"] = c => c.QueryAsync("texts", new QueryRequest { Filter = $"key == \"{Lone}\"" }),
        ["client-filter-parameter-unpaired-surrogate"] = c =>
            c.QueryAsync("texts", new QueryRequest { Filter = "key == {k}", FilterParams = new Dictionary<string, object?> { ["k"] = Lone } }),
        ["client-request-unpaired-surrogate"] = c => c.HasPartitionAsync("texts", "p\uD800"),
    };

    public static TheoryData<string> Rows() => [.. LibraryErrorTable.Read("client-").Select(r => r.Case)];

    [Fact]
    public void Table_HasACaseForEveryRow_AndARowForEveryCase()
    {
        var names = LibraryErrorTable.Read("client-").Select(r => r.Case).ToList();
        Assert.NotEmpty(names);
        Assert.True(names.Except(Cases.Keys).ToList() is [], "rows without a case: " + string.Join(", ", names.Except(Cases.Keys)));
        Assert.True(Cases.Keys.Except(names).ToList() is [], "cases without a row: " + string.Join(", ", Cases.Keys.Except(names)));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Row_IsTheRefusalTheCallMakes(string name)
    {
        var row = LibraryErrorTable.Read("client-").Single(r => r.Case == name);
        await using var target = await ClientTarget.RemoteAsync();
        await target.Client.CreateCollectionAsync("texts", new CollectionSchema
        {
            Fields = [FieldSchema.VarCharKey("key", 16), FieldSchema.Vector("vector", 2, MetricType.L2)],
        });
        await target.Client.LoadCollectionAsync("texts");
        Exception? thrown = null;
        try
        {
            await Cases[name](target.Client);
        }
        catch (Exception e)
        {
            thrown = e;
        }

        var mismatch = LibraryErrorTable.Mismatch(row, thrown);
        Assert.True(mismatch is null, mismatch);
    }
}
