using System.Collections.Immutable;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Embeddings;
using Quiver.Toolbox;

namespace Quiver.Cli.Bench;

/// <summary><c>quiver bench embedding</c>: the local all-MiniLM-L6-v2 provider's throughput (texts/s at batch 1 and 32)
/// and the end-to-end latency of a search by text (embed the query, then search) beside the same search by vector, all
/// in one run over real documentation chunks. Figures are for comparing within the run, never asserted.</summary>
internal static class EmbeddingBenchmark
{
    /// <summary>The <c>embedding</c> subcommand.</summary>
    public static Command Create()
    {
        var corpus = new Option<string>("--corpus") { Description = "JSON lines with a 'content' and a 'title' per line (default: the fiori chunks scripts/setup.sh installs).", DefaultValueFactory = _ => DefaultCorpus };
        var count = new Option<int>("--texts") { Description = "Texts embedded per throughput measurement.", DefaultValueFactory = _ => 256 };
        var queries = new Option<int>("--queries") { Description = "Searches by text (and by vector) timed.", DefaultValueFactory = _ => 200 };
        var chars = new Option<int>("--chars") { Description = "Documents are cut to this many characters (queries are titles).", DefaultValueFactory = _ => 1000 };
        var command = new Command("embedding", "Local embedding throughput (batch 1 and 32) and text-in search latency, one run.");
        foreach (var o in new Option[] { corpus, count, queries, chars })
        {
            command.Options.Add(o);
        }

        OpsCommand.SetAction(command, null, async (parse, io, ct) =>
        {
            await RunAsync(parse.GetValue(corpus)!, parse.GetValue(count), parse.GetValue(queries), parse.GetValue(chars), io.Out, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    private const string DefaultCorpus = "tests/Quiver.Embeddings.Tests/reference/node_modules/@sap-ux/fiori-docs-embeddings/data/embeddings/records.jsonl";

    private static async Task RunAsync(string corpus, int count, int queries, int chars, TextWriter output, CancellationToken ct)
    {
        if (!File.Exists(corpus))
        {
            throw new ToolboxException($"corpus '{corpus}' not found (run ./scripts/setup.sh, or give --corpus)");
        }

        var records = File.ReadLines(corpus).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (Doc: Cut(e.GetProperty("content").GetString()!, chars), Title: e.GetProperty("title").GetString()!)).ToArray();
        var docs = records.Select(r => r.Doc).ToArray();
        using var providers = new EmbeddingProviders();
        var model = providers.LocalModel;
        await model.EmbedAsync(["warm up"], ct).ConfigureAwait(false);

        var texts = Enumerable.Range(0, count).Select(i => docs[i % docs.Length]).ToArray();
        var watch = Stopwatch.StartNew();
        foreach (var t in texts)
        {
            await model.EmbedAsync([t], ct).ConfigureAwait(false);
        }

        var batch1 = texts.Length / watch.Elapsed.TotalSeconds;
        watch.Restart();
        await model.EmbedAsync(texts, ct).ConfigureAwait(false); // split into batches of MiniLmEmbedder.MaxBatch (32)
        var batch32 = texts.Length / watch.Elapsed.TotalSeconds;

        var folder = Path.Combine(Path.GetTempPath(), $"quiver-bench-embedding-{Guid.NewGuid():N}");
        try
        {
            await using var engine = await QuiverEngine.OpenAsync(folder, new QuiverOptions { TextEmbedders = providers }, ct).ConfigureAwait(false);
            await engine.CreateCollectionAsync("docs", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("doc", 65_535), FieldSchema.Vector("vec", MiniLmEmbedder.Dim)],
                Functions = [CollectionFunction.TextEmbedding("embed", "doc", "vec", ImmutableDictionary<string, string>.Empty.Add("provider", "local"))],
            }, cancellationToken: ct).ConfigureAwait(false);
            watch.Restart();
            for (var start = 0; start < docs.Length; start += 64)
            {
                var rows = Enumerable.Range(start, Math.Min(64, docs.Length - start))
                    .Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = (long)i, ["doc"] = docs[i] }).ToArray();
                await engine.InsertAsync("docs", rows, cancellationToken: ct).ConfigureAwait(false);
            }

            var ingest = docs.Length / watch.Elapsed.TotalSeconds;
            var titles = Enumerable.Range(0, queries).Select(i => records[i * 7 % records.Length].Title).ToArray();
            var vectors = await model.EmbedAsync(titles, ct).ConfigureAwait(false);
            var byText = new double[queries];
            var byVector = new double[queries];
            for (var i = 0; i < queries; i++)
            {
                watch.Restart();
                await engine.SearchAsync("docs", new SearchRequest { Vectors = [], QueryTexts = [titles[i]], Limit = 10 }, cancellationToken: ct).ConfigureAwait(false);
                byText[i] = watch.Elapsed.TotalMilliseconds;
                watch.Restart();
                await engine.SearchAsync("docs", new SearchRequest { Vectors = [vectors[i]], Limit = 10 }, cancellationToken: ct).ConfigureAwait(false);
                byVector[i] = watch.Elapsed.TotalMilliseconds;
            }

            var inv = CultureInfo.InvariantCulture;
            await output.WriteLineAsync(string.Create(inv, $"""
                | measure | value |
                | --- | --- |
                | corpus | {docs.Length} chunks cut to {chars} characters; {texts.Length} texts per throughput run; {queries} queries (titles) |
                | embed, batch 1 | {batch1:F1} texts/s |
                | embed, batch 32 | {batch32:F1} texts/s ({batch32 / batch1:F2}x batch 1) |
                | insert by text (64 rows a call) | {ingest:F1} rows/s |
                | search by text, p50 / p95 | {Percentile(byText, 0.5):F2} / {Percentile(byText, 0.95):F2} ms |
                | same search by vector, p50 / p95 | {Percentile(byVector, 0.5):F2} / {Percentile(byVector, 0.95):F2} ms |
                | text-in / vector-in latency (p50) | {Percentile(byText, 0.5) / Percentile(byVector, 0.5):F1}x |
                """)).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Cut(string text, int chars) => text.Length <= chars ? text : text[..chars];

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }
}
