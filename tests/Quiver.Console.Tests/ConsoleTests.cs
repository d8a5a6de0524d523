using System.Collections.ObjectModel;
using System.Globalization;
using System.Text.Json.Nodes;
using OpenQA.Selenium;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>The console end to end in headless Chromium against a real server: sign-in, RBAC in the page and at the
/// API, browsing and paging, positioned filter errors, search against a brute-force oracle, an index build followed to
/// completion, and the health charts showing the traffic the test made. Every page is screenshotted and checked
/// non-blank. No test waits a fixed time: each waits for a condition with a generous limit.</summary>
public sealed partial class ConsoleTests(ConsoleFixture f) : IClassFixture<ConsoleFixture>
{
    internal static By Test(string id) => By.CssSelector($"[data-testid='{id}']");

    /// <summary>The primary keys of the search page's results, once there are <paramref name="count"/>.</summary>
    private List<long> ResultIds(int count) => f.Until(d =>
    {
        var rows = d.FindElements(By.CssSelector("[data-testid=results] tbody tr"));
        return rows.Count == count ? rows.Select(r => long.Parse(r.GetAttribute("data-id")!, CultureInfo.InvariantCulture)).ToList() : null;
    }, $"{count} results");

    /// <summary>A byte count as the page formats it (components.jsx <c>bytes</c>).</summary>
    internal static string Bytes(long n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = n;
        var i = 0;
        while (v >= 1024 && i < units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return v.ToString(i == 0 ? "0" : "0.0", CultureInfo.InvariantCulture) + " " + units[i];
    }

    [Fact]
    public void SignIn_WrongPasswordIsRefused_RightPasswordShowsTheCollections()
    {
        var refusal = f.SignIn("root", "not-the-password", expectRefusal: true);
        Assert.Contains("Sign-in refused", refusal.Text, StringComparison.Ordinal);
        Assert.Empty(f.Browser.FindElements(Test("who")));
        f.Screenshot("login");

        Assert.Equal("Signed in as root", f.SignIn("root", ConsoleFixture.RootPassword).Text);
        var table = f.Find(Test("collections"));
        f.TextOf(Test("collections"), t => t.Contains("docs", StringComparison.Ordinal) && t.Contains("big", StringComparison.Ordinal), "both collections listed");
        Assert.Contains(ConsoleFixture.DocsRows.ToString(CultureInfo.InvariantCulture), table.Text, StringComparison.Ordinal);
        f.Screenshot("collections");
    }

    [Fact]
    public async Task GetRoot_RedirectsToTheConsole_AndAssetsCarryASecurityPolicy()
    {
        f.Browser.Navigate().GoToUrl(f.BaseUrl + "/");
        f.UntilTrue(d => d.Url.Contains("/console/", StringComparison.Ordinal), "redirect to /console/");
        using var response = await f.Root.GetAsync(new Uri("/console/app.js", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        using var missing = await f.Root.GetAsync(new Uri("/console/nothing.js", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ReadOnlyUser_SeesNoDestructiveAction_AndTheApiRefusesTheDelete()
    {
        f.SignIn(ConsoleFixture.Reader, ConsoleFixture.ReaderPassword);
        f.Go("browse/docs");
        f.TextOf(Test("page-info"), t => t.Contains($"of {ConsoleFixture.DocsRows}", StringComparison.Ordinal), "reader sees the rows");
        Assert.Empty(f.Browser.FindElements(Test("delete-by-filter")));
        f.Screenshot("readonly-browse");

        f.Go("collection/docs");
        f.TextOf(Test("row-count"), t => t == ConsoleFixture.DocsRows.ToString(CultureInfo.InvariantCulture), "row count");
        Assert.Empty(f.Browser.FindElements(Test("drop-collection")));
        Assert.Empty(f.Browser.FindElements(Test("create-index")));
        f.Go("collections");
        f.Find(Test("collections"));
        Assert.Empty(f.Browser.FindElements(Test("create-collection")));

        // The page hides the action; the server refuses it whoever calls: the same request from the page's own session.
        var answer = Assert.IsType<ReadOnlyCollection<object>>(f.Browser.ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            fetch('/v2/vectordb/entities/delete', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + sessionStorage.getItem('quiver.console.credential') },
              body: JSON.stringify({ collectionName: 'docs', filter: 'id >= 0' }),
            }).then(r => r.json().then(j => done([r.status, j.code]))).catch(e => done([0, String(e)]));
            """));
        Assert.Equal(403L, Convert.ToInt64(answer[0], CultureInfo.InvariantCulture));
        Assert.Equal(1401L, Convert.ToInt64(answer[1], CultureInfo.InvariantCulture));
        var count = await f.RestAsync("/entities/query", new JsonObject { ["collectionName"] = "docs", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("count(*)") });
        Assert.Equal(ConsoleFixture.DocsRows.ToString(CultureInfo.InvariantCulture), count![0]!["count(*)"]!.ToString());
    }

    [Fact]
    public void Browse_PagesThroughEveryRowOnce()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("browse/docs");
        var seen = new List<long>();
        IReadOnlyList<long> previous = [];
        var pages = (ConsoleFixture.DocsRows + 9) / 10;
        for (var page = 1; page <= pages; page++)
        {
            var first = ((page - 1) * 10) + 1;
            var last = Math.Min(page * 10, ConsoleFixture.DocsRows);
            f.TextOf(Test("page-info"), t => t == $"Page {page} of {pages} · rows {first}–{last} of {ConsoleFixture.DocsRows}", $"page {page}");
            var ids = f.Until(d =>
            {
                // The page's own rows: the footer can show the next page before the table is replaced, and pages
                // share no row, so a table still holding a row of the page before is not this page's yet.
                var cells = d.FindElements(By.CssSelector("[data-testid=rows] tbody tr td:first-child"));
                var shown = cells.Select(c => long.Parse(c.Text, CultureInfo.InvariantCulture)).ToList();
                return shown.Count == last - first + 1 && !shown.Intersect(previous).Any() ? shown : null;
            }, $"rows of page {page}");
            seen.AddRange(ids);
            previous = ids;
            if (page == 1)
            {
                // JSON and vectors are folded, not dumped.
                Assert.NotEmpty(f.Browser.FindElements(By.CssSelector("[data-testid=rows] details.vector")));
                f.Screenshot("browse");
            }
            if (page < pages)
            {
                f.Find(Test("next")).Click();
            }
        }
        Assert.True(f.Find(Test("next")).GetDomProperty("disabled") == "True", "no page after the last");
        Assert.Equal(f.DocsVectors.Keys.Order(), seen.Order());
    }

    [Fact]
    public void Browse_FilterNarrowsTheRows_AndABadFilterShowsItsPosition()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("browse/docs");
        var filter = f.Find(Test("filter"));
        filter.SendKeys("category == \"tech\" and id < 30");
        f.Find(Test("apply-filter")).Click();
        var expected = f.DocsCategories.Count(p => p.Value == "tech" && p.Key < 30);
        f.TextOf(Test("page-info"), t => t.EndsWith($"of {expected}", StringComparison.Ordinal), "filtered count");

        filter.Clear();
        const string bad = "category == \"tech\" and and id < 30";
        filter.SendKeys(bad);
        f.Find(Test("apply-filter")).Click();
        var error = f.Find(Test("error"));
        var caret = f.Find(Test("filter-caret")).Text.Split('\n');
        Assert.Equal(bad, caret[0]);
        var position = caret[1].IndexOf('^', StringComparison.Ordinal);
        Assert.Contains($"at position {position}", error.Text, StringComparison.Ordinal);
        // The parser points at the second "and".
        Assert.Equal(bad.IndexOf("and and", StringComparison.Ordinal) + 4, position);
        f.Screenshot("filter-error");
    }

    [Fact]
    public void Search_ByAStoredRowsVector_ReturnsTheBruteForceTopK_AndReportsRecall()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("search/docs");
        f.Find(Test("row-id")).SendKeys("7");
        f.Find(Test("search-filter")).SendKeys("category != \"news\"");
        var topK = f.Find(Test("topk"));
        topK.Clear();
        topK.SendKeys("5");
        f.Find(Test("run-search")).Click();
        var ids = ResultIds(5);
        var oracle = BruteForce.TopK(f.DocsVectors.Where(p => f.DocsCategories[p.Key] != "news").Select(p => (p.Key, p.Value)),
            f.DocsVectors[7], MetricType.L2, 5);
        Assert.Equal(oracle.Select(o => o.Key), ids);

        f.Find(Test("check-recall")).Click();
        Assert.StartsWith("recall@5 = 1.000 (5 of 5", f.TextOf(Test("recall"), t => t.Length > 0, "recall"), StringComparison.Ordinal);
        f.Screenshot("search");
    }

    [Fact]
    public void PastedVectorSearch_MatchesTheOracle()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("search/docs");
        f.Find(Test("mode-paste")).Click();
        var query = new float[] { 0.5f, -0.25f, 0.125f, 0, 0.75f, -0.5f, 0.25f, 0.1f };
        f.Find(Test("vector")).SendKeys("[" + string.Join(", ", query.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]");
        f.Find(Test("run-search")).Click();
        var ids = ResultIds(10);
        Assert.Equal(BruteForce.TopK(f.DocsVectors.Select(p => (p.Key, p.Value)), query, MetricType.L2, 10).Select(o => o.Key), ids);
    }

    [Fact]
    public async Task CreateIndex_FromThePage_ShowsBuildProgressToCompletion()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("collection/big");
        f.TextOf(Test("row-count"), t => t == ConsoleFixture.BigRows.ToString(CultureInfo.InvariantCulture), "row count");
        f.Choose(Test("index-type"), "HNSW");
        f.Choose(Test("index-metric"), "L2");
        f.Find(Test("create-index")).Click();
        f.Find(Test("confirm")).Click();
        f.Find(Test("index-vector"));
        f.TextOf(By.CssSelector("[data-testid=index-vector] [data-testid=index-state]"), t => t == "Finished", "index finished");
        Assert.Equal($"{ConsoleFixture.BigRows} / {ConsoleFixture.BigRows} rows (0 pending)",
            f.TextOf(By.CssSelector("[data-testid=index-vector] [data-testid=index-progress]"), t => t.Contains("(0 pending)", StringComparison.Ordinal), "progress"));
        Assert.Equal("1", f.Find(By.CssSelector("[data-testid=index-vector] progress")).GetDomProperty("value"));
        // The build parameters as the index holds them (the form's default for HNSW).
        Assert.Equal(["M=16", "efConstruction=200"],
            f.Find(By.CssSelector("[data-testid=index-vector] [data-testid=index-build-params]")).Text.Split(", ").Order(StringComparer.Ordinal));

        // Per segment: one row per sealed segment the engine reports, each built, their rows summing to the collection's;
        // the memory column is the engine's figure.
        var engine = Assert.Single(await f.Server.Engine.DescribeIndexesAsync("big"));
        f.Find(By.CssSelector("[data-testid=segments-vector] summary")).Click();
        var segments = f.Until(d =>
        {
            var rows = d.FindElements(By.CssSelector("[data-testid=segments-vector] [data-testid=segment-row]"));
            return rows.Count == engine.Segments.Count && rows.All(r => r.GetAttribute("data-state") == "Built") ? rows : null;
        }, "every segment built");
        Assert.Equal(engine.Segments.Select(s => s.SegmentId.ToString(CultureInfo.InvariantCulture)), segments.Select(r => r.FindElement(By.TagName("th")).Text));
        Assert.Equal(ConsoleFixture.BigRows, segments.Sum(r => long.Parse(r.FindElement(By.CssSelector("td.num")).Text, CultureInfo.InvariantCulture)));
        Assert.True(engine.MemoryBytes > 0, "an HNSW index holds a graph");
        Assert.Equal(Bytes(engine.MemoryBytes), f.Find(By.CssSelector("[data-testid=index-vector] [data-testid=index-memory]")).Text);
        f.Screenshot("collection");
    }

    [Fact]
    public async Task Health_ChartsShowTheSearchesTheTestMade()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("health");
        var before = long.Parse(f.TextOf(Test("window-searches"), t => t.Length > 0, "searches so far"), CultureInfo.InvariantCulture);
        const int searches = 200;
        var random = new Random(3);
        for (var i = 0; i < searches; i++)
        {
            var vector = new JsonArray(Enumerable.Range(0, ConsoleFixture.Dimension).Select(_ => (JsonNode?)(float)random.NextDouble()).ToArray());
            await f.RestAsync("/entities/search", new JsonObject { ["collectionName"] = "docs", ["data"] = new JsonArray(vector), ["limit"] = 3 });
        }
        // Every search lands in one sample: once the history has caught up, the window holds at least these.
        f.TextOf(Test("window-searches"), t => long.Parse(t, CultureInfo.InvariantCulture) >= before + searches, "the test's searches in the charts");

        // The recall monitor re-ran the searches exactly; docs has a FLAT index, so its searches are exact: recall 1.
        f.TextOf(By.XPath("//*[@data-testid='recall-row'][th='default.docs']/td"), t => t == "1.0000", "docs' live recall estimate");

        // Writes and a compaction: four flushed inserts leave four small sealed segments, which compaction merges (here,
        // or in the background first). The engine's meter is process-wide, so the window holds at least these.
        var writesBefore = Pair(f.TextOf(Test("window-writes"), t => t.Length > 0, "writes so far"));
        var compactionBefore = Pair(f.TextOf(Test("window-compaction"), t => t.Length > 0, "compaction so far"));
        await f.RestAsync("/collections/create", new JsonObject { ["collectionName"] = "merged", ["dimension"] = 2 });
        for (var batch = 0; batch < 4; batch++)
        {
            var rows = new JsonArray(Enumerable.Range(0, 25).Select(i => (JsonNode?)new JsonObject { ["id"] = (batch * 25) + i, ["vector"] = new JsonArray(i + 1, batch + 1) }).ToArray());
            await f.RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "merged", ["data"] = rows });
            await f.RestAsync("/collections/flush", new JsonObject { ["collectionName"] = "merged" });
        }
        await f.Server.Engine.CompactAsync("merged");
        Assert.Equal(1, (await f.Server.Engine.DescribeCollectionAsync("merged")).SealedSegments);
        f.TextOf(Test("window-writes"), t => Pair(t) is var (fsyncs, rows) && fsyncs > writesBefore.First && rows >= writesBefore.Second + 100, "the test's writes in the charts");
        f.TextOf(Test("window-compaction"), t => Pair(t) is var (merges, rows) && merges > compactionBefore.First && rows >= compactionBefore.Second + 100,
            "the merge in the charts");
        foreach (var chart in new[] { "chart-rate", "chart-latency", "chart-errors", "chart-memory", "chart-writes", "chart-recall" })
        {
            Assert.True(CanvasDrew(chart), $"{chart} drew nothing");
        }
        // The latency chart carries the p99 thresholds as series.
        var legend = f.Find(By.CssSelector("[data-testid=chart-latency] .u-legend")).Text;
        Assert.Contains("p99 warn", legend, StringComparison.Ordinal);
        Assert.Contains("p99 fail", legend, StringComparison.Ordinal);
        Assert.Contains("default.docs", f.Find(By.CssSelector("[data-testid=chart-recall] .u-legend")).Text, StringComparison.Ordinal);
        f.Screenshot("health");
    }

    /// <summary>"a / b" as two numbers.</summary>
    private static (long First, long Second) Pair(string text)
    {
        var parts = text.Split('/', StringSplitOptions.TrimEntries);
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    [Fact]
    public void CreateCollection_FromTheForm_AfterConfirmation_ShowsItsSchema()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("create");
        f.Find(Test("new-name")).SendKeys("made_here");
        var dim = f.Find(Test("new-dim"));
        dim.Clear();
        dim.SendKeys("4");
        f.Screenshot("create");
        f.Find(Test("review-create")).Click();
        f.Find(Test("confirm")).Click();
        f.UntilTrue(d => d.Url.EndsWith("#/collection/made_here", StringComparison.Ordinal), "the new collection's page");
        var schema = f.TextOf(Test("schema"), t => t.Contains("dim=4", StringComparison.Ordinal), "schema with the vector field");
        Assert.Contains("FloatVector", schema, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteByFilter_ShowsTheCountFirst_ThenDeletesExactlyThoseRows()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("create");
        // Its own collection, so that other tests keep their rows.
        f.Find(Test("mode-json")).Click();
        f.Find(Test("new-name")).SendKeys("scratch");
        f.Find(Test("schema-json")).SendKeys("""{"fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": true}, {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}], "indexParams": [{"fieldName": "v", "indexName": "v", "indexType": "FLAT", "metricType": "L2"}]}""");
        f.Find(Test("review-create")).Click();
        f.Find(Test("confirm")).Click();
        f.UntilTrue(d => d.Url.EndsWith("#/collection/scratch", StringComparison.Ordinal), "the new collection's page");
        var rows = new JsonArray(Enumerable.Range(0, 20).Select(i => (JsonNode?)new JsonObject { ["id"] = i, ["v"] = new JsonArray(i, 1) }).ToArray());
        await f.RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "scratch", ["data"] = rows });

        f.Go("browse/scratch");
        var filter = f.Find(Test("filter"));
        filter.SendKeys("id < 7");
        f.Find(Test("apply-filter")).Click();
        f.TextOf(Test("page-info"), t => t.EndsWith("of 7", StringComparison.Ordinal), "filtered count");
        f.Find(Test("delete-by-filter")).Click();
        Assert.StartsWith("7 rows match", f.Find(Test("delete-count")).Text, StringComparison.Ordinal);
        f.Find(Test("confirm")).Click();
        f.TextOf(Test("page-info"), t => t.EndsWith("of 0", StringComparison.Ordinal), "nothing left matching");
        var left = (await f.RestAsync("/entities/query", new JsonObject { ["collectionName"] = "scratch", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("id") }))!
            .AsArray().Select(r => long.Parse(r!["id"]!.ToString(), CultureInfo.InvariantCulture)).Order();
        Assert.Equal(Enumerable.Range(7, 13).Select(i => (long)i), left);
    }

    [Fact]
    public void UsersAndRoles_ListTheReader_ForRootOnly()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("users");
        f.TextOf(Test("users"), t => t.Contains(ConsoleFixture.Reader, StringComparison.Ordinal) && t.Contains("viewer", StringComparison.Ordinal), "reader with its role");
        f.TextOf(Test("roles"), t => t.Contains("CollectionReadOnly", StringComparison.Ordinal), "viewer's grants");
        f.Screenshot("users");

        f.SignIn(ConsoleFixture.Reader, ConsoleFixture.ReaderPassword);
        Assert.Empty(f.Browser.FindElements(By.CssSelector("a[href='#/users']")));
    }
}
