namespace Quiver.Server.Tests;

/// <summary>The memory budget's rows of docs/errors.md: an insert, and a delete whose marks (44 bytes each) would pass
/// <c>Engine:MemoryBudgetBytes</c>, each on a server of its own (a budget of 100 bytes; a row of <c>docs</c> takes 40).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the memory budget's case added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithMemoryCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        cases.Add("insert-memory-quota", _ => InsertPastMemoryBudgetAsync());
        cases.Add("delete-memory-quota", _ => DeletePastMemoryBudgetAsync());
        return cases;
    }

    private static async Task<Answer> DeletePastMemoryBudgetAsync()
    {
        await using var server = await TestServer.StartAsync(o => o.Engine = o.Engine with { MemoryBudgetBytes = 100 });
        await server.Server.Engine.CreateCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("price", Quiver.DataType.Double), FieldSchema.Vector("embedding", Servers.Dim, MetricType.L2)],
        });

        // Three rows fit (the third after the first two are sealed); their three marks (132 bytes) cannot.
        foreach (var ids in new[] { new[] { 1, 2 }, new[] { 3 } })
        {
            await server.Server.Engine.InsertAsync("docs", [.. ids.Select(i => new Quiver.Row { ["id"] = (long)i, ["price"] = 1.5, ["embedding"] = new float[] { 1, 2, 3, 4 } })]);
        }

        return await RestAsync(server, "/entities/delete", "{\"collectionName\":\"docs\",\"filter\":\"id in [1, 2, 3]\"}");
    }

    private static async Task<Answer> InsertPastMemoryBudgetAsync()
    {
        await using var server = await TestServer.StartAsync(o => o.Engine = o.Engine with { MemoryBudgetBytes = 100 });
        await server.Server.Engine.CreateCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("price", Quiver.DataType.Double), FieldSchema.Vector("embedding", Servers.Dim, MetricType.L2)],
        });
        return await RestAsync(server, "/entities/insert",
            "{\"collectionName\":\"docs\",\"data\":[" + string.Join(",", Enumerable.Range(1, 3).Select(i => $"{{\"id\":{i},\"price\":1.5,\"embedding\":[1,2,3,4]}}")) + "]}");
    }
}
