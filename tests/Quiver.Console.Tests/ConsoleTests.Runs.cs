using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OpenQA.Selenium;

namespace Quiver.Console.Tests;

/// <summary>Advise and tune while they run (the progress endpoint, whose user alone may follow a run) and on a collection
/// that is not loaded; an index build followed segment by segment through Queued, Building, Built and Failed, and the
/// retry of the failed ones.</summary>
public sealed partial class ConsoleTests
{
    [Fact]
    public async Task ToolProgress_FollowsTheRunOfItsOwnUserOnly_AndEndsWithTheRun()
    {
        const string runId = "progress-test-1";
        Task<JsonObject> run;
        using (var pause = f.Tools.PauseAt(AdviseMeasuring))
        {
            run = ConsoleCallAsync(f.Root, "/console/api/advise", new JsonObject { ["collection"] = "tuned", ["runId"] = runId });
            await EventuallyAsync(() => pause.Reached, "the advise reached its measuring stage");

            var seen = (await ConsoleCallAsync(f.Root, $"/console/api/progress?run={runId}", null))["data"]!;
            Assert.Equal("running", seen["state"]!.GetValue<string>());
            Assert.Equal(AdviseMeasuring, seen["stage"]!.GetValue<string>());
            Assert.Equal("indexes", seen["unit"]!.GetValue<string>());
            Assert.Equal(0, seen["done"]!.GetValue<long>());
            Assert.True(seen["total"]!.GetValue<long>() >= 2, seen.ToJsonString());
            // The notes the command line prints on stderr come along (the sample it measures on).
            Assert.Contains(seen["notes"]!.AsArray(), n => n!.GetValue<string>().StartsWith("advise: collection tuned.vector: ", StringComparison.Ordinal));

            // Another user sees nothing of it.
            using var reader = new HttpClient { BaseAddress = f.Root.BaseAddress };
            reader.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", $"{ConsoleFixture.Reader}:{ConsoleFixture.ReaderPassword}");
            Assert.Equal("unknown", (await ConsoleCallAsync(reader, $"/console/api/progress?run={runId}", null))["data"]!["state"]!.GetValue<string>());
        }
        var done = await run;
        Assert.True(done["code"]!.GetValue<int>() == 0, done.ToJsonString());
        Assert.NotNull(done["data"]!["result"]!["recommended"]);
        Assert.Equal("unknown", (await ConsoleCallAsync(f.Root, $"/console/api/progress?run={runId}", null))["data"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Advise_OnACollectionNotLoaded_IsRefusedAsAQueryIs_AndThePageOffersToLoadItFirst()
    {
        // As a query on it would be: code 101, with Milvus's wording and the reason.
        var refused = await ConsoleCallAsync(f.Root, "/console/api/advise", new JsonObject { ["collection"] = "cold" });
        Assert.Equal(101, refused["code"]!.GetValue<int>());
        Assert.StartsWith("console advise: collection not loaded[collection=cold]: advise reads", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);

        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("collection/cold");
        f.TextOf(Test("needs-load"), t => t.StartsWith("cold is not loaded: advise reads its rows", StringComparison.Ordinal), "the page says why advise waits");
        Assert.Empty(f.Browser.FindElements(Test("advise")));
        f.ScrollTo(Test("needs-load"));
        f.Screenshot("advise-not-loaded");

        f.Find(Test("load-for-tool")).Click();
        f.Find(Test("confirm")).Click();
        f.TextOf(Test("load-state"), t => t == "LoadStateLoaded", "cold loaded");
        f.Find(Test("advise")).Click();
        // 300 rows: below 10K rows the advice is FLAT, which exact search always meets.
        Assert.StartsWith("recommended: FLAT", AnswerOrError("advice-summary", "the advice"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexBuild_ShowsEachSegmentQueuedBuildingBuilt_AFailedOneWithItsReason_AndItsRetry()
    {
        const string name = "segmented";
        await f.CreateVectorCollectionAsync(name, 4);
        // Three sealed segments: one flush after each batch.
        for (var batch = 0; batch < 3; batch++)
        {
            await f.RestAsync("/entities/insert", new JsonObject
            {
                ["collectionName"] = name,
                ["data"] = new JsonArray([.. Enumerable.Range(batch * 100, 100).Select(i => (JsonNode)new JsonObject
                {
                    ["id"] = i, ["vector"] = new JsonArray(i % 7, i % 5, i % 3, 1),
                })]),
            });
            await f.RestAsync("/collections/flush", new JsonObject { ["collectionName"] = name });
        }
        var id = (await f.Server.Engine.DescribeCollectionAsync(name)).Id;
        var indexFolder = $"{Path.DirectorySeparatorChar}{id.ToString("D20", CultureInfo.InvariantCulture)}{Path.DirectorySeparatorChar}indexes{Path.DirectorySeparatorChar}";
        bool IsIndexFile(string path) => path.Contains(indexFolder, StringComparison.Ordinal) && path.EndsWith(".qidx", StringComparison.Ordinal);

        // The shard builds one segment at a time. The first to save its index file is held there (Building, the others
        // Queued), then saved; every later save fails as a full disk would (Failed, with the reason), the third only
        // once the test lets it go: meanwhile the index is Failed (one segment failed) while a segment is still Building.
        string? first = null;
        var saves = 0;
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseThird = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Files.BeforeRename = path =>
        {
            if (!IsIndexFile(path))
            {
                return;
            }
            var save = Interlocked.Increment(ref saves);
            if (save == 1)
            {
                Volatile.Write(ref first, path);
            }
            (save switch { 1 => releaseFirst, 3 => releaseThird, _ => null })?.Task.Wait(TimeSpan.FromMinutes(2));
        };
        f.Files.FailRenameTo = path => IsIndexFile(path) && path != Volatile.Read(ref first);
        try
        {
            await f.RestAsync("/indexes/create", new JsonObject
            {
                ["collectionName"] = name,
                ["indexParams"] = new JsonArray(new JsonObject { ["fieldName"] = "vector", ["indexName"] = "vector", ["indexType"] = "HNSW", ["metricType"] = "L2" }),
            });
            f.SignIn("root", ConsoleFixture.RootPassword);
            f.Go($"collection/{name}");
            f.Find(By.CssSelector("[data-testid=segments-vector] summary")).Click();
            f.UntilTrue(_ => SegmentStates() == "Building,Queued,Queued", "one segment building, two queued");
            Assert.Contains("InProgress", IndexState(), StringComparison.Ordinal);
            f.ScrollTo(Test("indexes"));
            f.Screenshot("index-segments-building");

            releaseFirst.SetResult();
            // The index is Failed now, with a segment still building: the panel must go on looking.
            f.UntilTrue(_ => SegmentStates() == "Building,Built,Failed", "one segment built, one failed, one building");
            Assert.StartsWith("Failed: segment ", IndexState(), StringComparison.Ordinal);

            releaseThird.SetResult();
            f.UntilTrue(_ => SegmentStates() == "Built,Failed,Failed", "one segment built, two failed");
            var failed = f.Browser.FindElements(By.CssSelector("[data-testid=segment-row][data-state=Failed]"));
            Assert.All(failed, row => Assert.Contains("Failed: segment ", row.Text, StringComparison.Ordinal));
            Assert.All(failed, row => Assert.Contains("Injected fault: rename", row.Text, StringComparison.Ordinal));
            Assert.StartsWith("Failed: segment ", IndexState(), StringComparison.Ordinal);
            f.ScrollTo(Test("indexes"));
            f.Screenshot("index-segments-failed");
        }
        finally
        {
            f.Files.BeforeRename = null;
            f.Files.FailRenameTo = null;
            releaseFirst.TrySetResult();
            releaseThird.TrySetResult();
        }

        // The disk has room again: the engine retries the failed builds (30 s after they failed) and the open page shows
        // them built, without being reopened.
        f.UntilTrue(_ => SegmentStates() == "Built,Built,Built", "the retried segments built");
        f.UntilTrue(_ => IndexState() == "Finished", "the index finished");
        await f.RestAsync("/collections/drop", new JsonObject { ["collectionName"] = name });
    }

    /// <summary>The index state cell of the index <c>vector</c>, as the page shows it.</summary>
    private string IndexState() => f.Find(By.CssSelector("[data-testid=index-vector] [data-testid=index-state]")).Text;

    /// <summary>The states of the index's segments as the page shows them, sorted (Building, Built, Failed, Queued order
    /// is alphabetical; the page lists segments in the shard's order, which the test does not fix).</summary>
    private string SegmentStates() => string.Join(',', f.Browser.FindElements(By.CssSelector("[data-testid=segment-row]"))
        .Select(r => r.GetAttribute("data-state")).Order(StringComparer.Ordinal));

    /// <summary>A console endpoint's whole reply (<paramref name="body"/> null: GET) through <paramref name="client"/>.</summary>
    private static async Task<JsonObject> ConsoleCallAsync(HttpClient client, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Waits (up to 90 s, polling) for <paramref name="condition"/>.</summary>
    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting: {what}");
            await Task.Delay(50);
        }
    }
}
