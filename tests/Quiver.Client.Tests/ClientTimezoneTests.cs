namespace Quiver.Client.Tests;

/// <summary>Milvus's <c>timezone</c> through <see cref="IQuiverClient"/>, embedded and over gRPC alike: TIMESTAMPTZ text
/// without an offset is written in the collection's zone (the zone the server holds when the write arrives, also after
/// another change of it), values come back in the collection's zone or in a read's own <c>Timezone</c> (query, get,
/// search, hybrid search), and a read's zone reads its ISO literals. The oracle: instants worked by hand (row i is
/// 2025-07-(10+i) 12:00 UTC: 20:00+08:00 in Shanghai, 08:00-04:00 in New York in July).</summary>
public sealed class ClientTimezoneTests
{
    public static TheoryData<string> Targets => new() { "embedded", "remote" };

    private static Task<ClientTarget> OpenAsync(string target) => target == "remote" ? ClientTarget.RemoteAsync() : ClientTarget.EmbeddedAsync();

    private static string Shanghai(long i) => $"2025-07-{10 + i}T20:00:00+08:00";

    private static string NewYork(long i) => $"2025-07-{10 + i}T08:00:00-04:00";

    private static Dictionary<long, object?> ById(IEnumerable<Row> rows) => rows.ToDictionary(r => (long)r["id"]!, r => r["tsz"]);

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task NaiveTextIsWrittenInTheCollectionZone_ReadsAnswerInTheirZone(string target)
    {
        await using var t = await OpenAsync(target);
        var c = t.Client;
        await c.CreateCollectionAsync("events", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                new FieldSchema { Name = "tsz", DataType = DataType.Timestamptz, Nullable = true },
                FieldSchema.Vector("v", 2, MetricType.L2),
            ],
        });
        await c.AlterCollectionPropertiesAsync("events", new Dictionary<string, string> { ["timezone"] = "Asia/Shanghai" });

        // The same instants written three ways: naive text with a space and with a T (Shanghai wall-clock times), and
        // text with an offset (absolute); row 9 is null.
        await c.InsertAsync("events", [.. Enumerable.Range(0, 10).Select(i => (IReadOnlyDictionary<string, object?>)new Row
        {
            ["id"] = (long)i,
            ["tsz"] = (i % 3) switch
            {
                _ when i == 9 => null,
                0 => $"2025-07-{10 + i} 20:00:00",
                1 => $"2025-07-{10 + i}T20:00:00",
                _ => $"2025-07-{10 + i}T12:00:00Z",
            },
            ["v"] = new[] { (float)i, 0f },
        })]);
        await c.LoadCollectionAsync("events");

        var all = ById(await c.QueryAsync("events", new QueryRequest { Filter = "id >= 0", OutputFields = ["tsz"] }));
        Assert.Equal(Enumerable.Range(0, 10).ToDictionary(i => (long)i, i => i == 9 ? null : (object?)Shanghai(i)), all);
        var inNewYork = ById(await c.QueryAsync("events", new QueryRequest { Filter = "id >= 0", OutputFields = ["tsz"], Timezone = "America/New_York" }));
        Assert.Equal(Enumerable.Range(0, 10).ToDictionary(i => (long)i, i => i == 9 ? null : (object?)NewYork(i)), inNewYork);
        Assert.Equal(Shanghai(4), (await c.GetAsync("events", [4L], ["tsz"]))[0]["tsz"]);

        // A naive literal in the read's zone: 2025-07-14 20:00 in New York is 2025-07-15 00:00 UTC, after row 4's instant;
        // in Shanghai it is row 4's instant.
        var later = await c.QueryAsync("events", new QueryRequest { Filter = "tsz >= ISO '2025-07-14 20:00:00'", OutputFields = ["tsz"], Timezone = "America/New_York" });
        Assert.Equal([5L, 6, 7, 8], later.Select(r => (long)r["id"]!).Order());
        var inShanghai = await c.QueryAsync("events", new QueryRequest { Filter = "tsz >= ISO '2025-07-14 20:00:00'", OutputFields = ["tsz"] });
        Assert.Equal([4L, 5, 6, 7, 8], inShanghai.Select(r => (long)r["id"]!).Order());

        var search = new SearchRequest { Vectors = [[4.2f, 0f]], Limit = 3, OutputFields = ["tsz"], Timezone = "America/New_York" };
        var hits = (await c.SearchAsync("events", search)).Hits[0];
        Assert.Equal([(4L, NewYork(4)), (5L, NewYork(5)), (3L, NewYork(3))], hits.Select(h => ((long)h.Id, h.Fields["tsz"])));
        var own = (await c.SearchAsync("events", search with { Timezone = null })).Hits[0];
        Assert.Equal([(4L, Shanghai(4)), (5L, Shanghai(5)), (3L, Shanghai(3))], own.Select(h => ((long)h.Id, h.Fields["tsz"])));

        var hybrid = new HybridRequest
        {
            Requests =
            [
                search with { Timezone = null, OutputFields = [], Filter = "tsz >= ISO '2025-07-14 20:00:00'" },
                search with { Timezone = null, OutputFields = [], Vectors = [[0f, 0f]] },
            ],
            Ranker = HybridRanker.Rrf(60),
            Limit = 10,
            OutputFields = ["tsz"],
            Timezone = "America/New_York",
        };
        // In New York the first request keeps rows 5..8 (5, 6, 7 nearest 4.2); the second is rows 0, 1, 2.
        var fused = (await c.HybridSearchAsync("events", hybrid)).Hits[0];
        Assert.Equal([0L, 1, 2, 5, 6, 7], fused.Select(h => (long)h.Id).Order());
        Assert.All(fused, h => Assert.Equal(NewYork((long)h.Id), h.Fields["tsz"]));

        // The zone changes after the client has read the collection's description: naive text written now is read in
        // the new zone (the server's), text with an offset stays absolute.
        await c.AlterCollectionPropertiesAsync("events", new Dictionary<string, string> { ["timezone"] = "America/New_York" });
        await c.UpsertAsync("events",
        [
            new Row { ["id"] = 0L, ["tsz"] = "2025-07-10 08:00:00", ["v"] = new[] { 0f, 0f } },
            new Row { ["id"] = 1L, ["tsz"] = "2025-07-11T20:00:00+08:00", ["v"] = new[] { 1f, 0f } },
        ]);
        var after = ById(await c.QueryAsync("events", new QueryRequest { Filter = "id < 2", OutputFields = ["tsz"], Timezone = "UTC" }));
        Assert.Equal(new Dictionary<long, object?> { [0] = "2025-07-10T12:00:00Z", [1] = "2025-07-11T12:00:00Z" }, after);
    }
}
