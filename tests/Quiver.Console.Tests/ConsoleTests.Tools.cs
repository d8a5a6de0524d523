using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using OpenQA.Selenium;

namespace Quiver.Console.Tests;

/// <summary>The toolbox's tools from the page: advise in the create-index form, tune with its curve; and bulk import
/// jobs followed to completion.</summary>
public sealed partial class ConsoleTests
{
    // The tools' stages (Advisor.cs, Tuner.cs) that the progress tests hold a run at.
    private const string AdviseMeasuring = "advise: building and measuring candidates";
    private const string TuneSweeping = "tune: exact answers and sweep";

    [Fact]
    public async Task CreateIndexForm_OffersTheAdvice_AndUsingItFillsTheForm()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        // The advisor samples rows with a key scan, which needs the collection loaded: tuned is.
        f.Go("collection/tuned");
        f.TextOf(Test("row-count"), t => t == ConsoleFixture.TunedRows.ToString(CultureInfo.InvariantCulture), "row count");
        // While it runs, the page shows the stage the tool is in and its counter: held at its longest stage here.
        using (var pause = f.Tools.PauseAt(AdviseMeasuring))
        {
            f.Find(Test("advise")).Click();
            f.TextOf(Test("tool-stage"), t => t == AdviseMeasuring, "the advise's stage shown while it runs");
            Assert.True(pause.Reached);
            Assert.Matches(@"^0 of [1-9]\d* indexes$", f.Find(Test("tool-count")).Text);
            Assert.Equal("Measuring candidates…", f.Find(Test("advise")).Text);
            f.ScrollTo(Test("tool-progress"));
            f.Screenshot("advise-progress");
        }
        var summary = AnswerOrError("advice-summary", "the advice");
        Assert.Empty(f.Browser.FindElements(Test("tool-progress")));

        // The page shows the toolbox's own result: the same request as root answers the same recommendation. Below 10K
        // rows the advice is FLAT whenever FLAT meets the targets, which exact search always does.
        var direct = await ConsolePostAsync("/console/api/advise", new JsonObject { ["collection"] = "tuned", ["targetRecall"] = 0.95 });
        var recommended = direct["result"]!["recommended"]!;
        Assert.Equal("FLAT", recommended["indexType"]!.GetValue<string>());
        Assert.StartsWith("recommended: FLAT", summary, StringComparison.Ordinal);
        Assert.Equal(direct["result"]!["candidates"]!.AsArray().Count, f.Browser.FindElements(Test("advice-candidate")).Count);

        f.Find(Test("use-advice")).Click();
        f.UntilTrue(d => d.FindElement(Test("index-type")).GetDomProperty("value") == "FLAT", "the form takes the advised type");
        Assert.Equal(recommended["buildParams"]!.ToJsonString(), f.Find(Test("index-params")).GetDomProperty("value"));
        Assert.Equal("L2", f.Find(Test("index-metric")).GetDomProperty("value"));
        f.ScrollTo(Test("advice"));
        f.Screenshot("advise");
    }

    [Fact]
    public async Task Tune_FromThePage_DrawsRecallAgainstQps_AndItsChoiceMeetsTheTarget()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("collection/tuned");
        f.TextOf(By.CssSelector("[data-testid=index-vector] [data-testid=index-state]"), t => t == "Finished", "index finished");
        var queries = f.Find(Test("tune-queries"));
        queries.Clear();
        queries.SendKeys("40");
        var recall = f.Find(Test("tune-recall"));
        recall.Clear();
        recall.SendKeys("0.9");
        using (f.Tools.PauseAt(TuneSweeping))
        {
            f.Find(Test("run-tune")).Click();
            f.TextOf(Test("tool-stage"), t => t == TuneSweeping, "the tuning's stage shown while it runs");
            Assert.Matches(@"^0 of [1-9][\d,]* searches$", f.Find(Test("tool-count")).Text);
        }
        var summary = AnswerOrError("tune-summary", "the tuning's result");
        Assert.StartsWith("chosen {\"ef\":", summary, StringComparison.Ordinal);

        // One row per setting swept, the chosen one meeting the target; the curve drew them.
        var rows = f.Browser.FindElements(By.CssSelector("[data-testid=tune-sweep] tbody tr"));
        Assert.True(rows.Count >= 2, $"{rows.Count} settings swept");
        var chosen = Assert.Single(rows, r => r.GetAttribute("data-chosen") == "true");
        Assert.True(double.Parse(chosen.FindElements(By.TagName("td"))[0].Text, CultureInfo.InvariantCulture) >= 0.9);
        Assert.True(CanvasDrew("tune-curve"), "the tune curve drew nothing");

        // The chosen ef, applied by hand, reaches the target against the brute-force oracle on the same rows.
        var ef = int.Parse(System.Text.RegularExpressions.Regex.Match(summary, "\"ef\":(\\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var vectors = new Dictionary<long, float[]>();
        foreach (var row in (await f.RestAsync("/entities/query", new JsonObject
        {
            ["collectionName"] = "tuned", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("id", "vector"), ["limit"] = ConsoleFixture.TunedRows,
        }))!.AsArray())
        {
            vectors[long.Parse(row!["id"]!.ToString(), CultureInfo.InvariantCulture)] = row["vector"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        }
        var random = new Random(5);
        double found = 0, wanted = 0;
        for (var q = 0; q < 50; q++)
        {
            var query = vectors[random.Next(ConsoleFixture.TunedRows)];
            var hits = (await f.RestAsync("/entities/search", new JsonObject
            {
                ["collectionName"] = "tuned", ["data"] = new JsonArray(new JsonArray(query.Select(v => (JsonNode?)v).ToArray())), ["limit"] = 10,
                ["searchParams"] = new JsonObject { ["params"] = new JsonObject { ["ef"] = ef } },
            }))!.AsArray().Select(h => long.Parse(h!["id"]!.ToString(), CultureInfo.InvariantCulture)).ToHashSet();
            var truth = Quiver.Testing.BruteForce.TopK(vectors.Select(p => (p.Key, p.Value)), query, MetricType.L2, 10).Select(o => o.Key).ToList();
            found += truth.Count(hits.Contains);
            wanted += truth.Count;
        }
        // The tuning measured other queries (and left each query's own row out): allow a margin below the target.
        Assert.True(found / wanted >= 0.85, $"recall@10 at ef {ef}: {found / wanted:F3}");
        f.ScrollTo(Test("tune-result"));
        f.Screenshot("tune");
    }

    [Fact]
    public async Task ImportJobs_StartedFromThePage_RunToCompletion_WithEveryRowImported()
    {
        const int rows = 300;
        var file = new StringBuilder();
        for (var i = 0; i < rows; i++)
        {
            file.Append(CultureInfo.InvariantCulture, $"{{\"id\": {i}, \"vector\": [{(i % 7) + 1}, {(i % 11) + 1}]}}\n");
        }
        await File.WriteAllTextAsync(Path.Combine(f.ImportRoot, "rows.jsonl"), file.ToString());
        await f.RestAsync("/collections/create", new JsonObject { ["collectionName"] = "imported", ["dimension"] = 2 });

        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("imports");
        f.Find(Test("import-collection")).SendKeys("imported");
        f.Find(Test("import-files")).SendKeys("rows.jsonl");
        f.Find(Test("start-import")).Click();
        var row = f.Until(d => d.FindElements(By.CssSelector("[data-testid=imports] tbody tr"))
            .FirstOrDefault(r => r.Text.Contains("imported", StringComparison.Ordinal) && !r.Text.Contains("Pending", StringComparison.Ordinal)
                && !r.Text.Contains("Importing", StringComparison.Ordinal)), "the job ended");
        Assert.Contains("Completed", row.Text, StringComparison.Ordinal);
        Assert.Contains("100 %", row.Text, StringComparison.Ordinal);
        Assert.Equal("100", row.FindElement(By.TagName("progress")).GetDomProperty("value"));

        var count = await f.RestAsync("/entities/query", new JsonObject { ["collectionName"] = "imported", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("count(*)") });
        Assert.Equal(rows.ToString(CultureInfo.InvariantCulture), count![0]!["count(*)"]!.ToString());
        f.Screenshot("imports");
    }

    /// <summary>The text of <paramref name="testId"/> once shown; fails with the page's error message if one shows
    /// instead.</summary>
    private string AnswerOrError(string testId, string what)
    {
        var shown = f.Until(d => d.FindElements(Test(testId)).FirstOrDefault(e => e.Text.Length > 0) ?? d.FindElements(Test("error")).FirstOrDefault(), what);
        Assert.True(shown.GetAttribute("data-testid") == testId, $"{what}: the page shows an error: {shown.Text}");
        return shown.Text;
    }

    /// <summary>POST to a console endpoint as root; fails unless it answers code 0; returns <c>data</c>.</summary>
    private async Task<JsonNode> ConsolePostAsync(string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await f.Root.PostAsync(new Uri(path, UriKind.Relative), content);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(reply["code"]!.GetValue<int>() == 0, $"{path}: {reply.ToJsonString()}");
        return reply["data"]!;
    }

    /// <summary>True when the canvas of chart <paramref name="id"/> holds more than a few colours.</summary>
    private bool CanvasDrew(string id) => (bool)f.Browser.ExecuteScript("""
        const canvas = document.querySelector(`[data-testid='${arguments[0]}'] canvas`);
        if (!canvas) return false;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        for (let i = 0; i < pixels.length; i += 16) colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2] | (pixels[i + 3] << 24));
        return colours.size > 3;
        """, id)!;
}
