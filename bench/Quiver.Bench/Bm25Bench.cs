using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Quiver.Bench;

/// <summary>
/// <c>bm25</c>: full-text search over a real corpus, Quiver's BM25 function against SQLite FTS5's <c>bm25()</c> in the
/// same run. The corpus is the documentation Debian installs (<c>/usr/share/doc/**</c>: plain and gzip-compressed text
/// files, sorted by path), cut into passages of <c>--passage-words</c> words. Quiver (embedded) stores them in a
/// collection with a BM25 function (standard analyzer: Unicode word breaks and lowercase) and an SPARSE_INVERTED_INDEX
/// with metric BM25 (k1 1.2, b 0.75); FTS5 (<c>bench/peers/fts5_bm25.py</c>, Debian's python3 sqlite3, tokenizer unicode61,
/// the same k1 and b) indexes the same passages. Both answer the same seeded queries (2–3 words taken from random
/// passages, any word may match), one per call, top-k. Prints QPS for both, and the agreement of the two top-k lists.
/// Quiver's timed path is the one searches take (MaxScore over kept statistics: <c>Bm25Path.MaxScore</c>). In the same
/// run it also answers the queries with block-max MaxScore (<c>Bm25Path.BlockMax</c>, not the default), on its exhaustive path (kept statistics, every posting scored:
/// <c>Bm25Path.Exhaustive</c>) and the first <c>--nq-reference</c> of them on the reference path (statistics walked over
/// every visible row too: <c>Bm25Path.Reference</c>), whose top-k the pruned path must equal exactly (counted); and the
/// collection is reopened to time the first search on postings mapped from their files against the first search that
/// built them.
/// The two rankings are not expected to be equal: FTS5's IDF is ln((N − df + 0.5) / (df + 0.5)) (a floor of 1e-6 for
/// words in more than half the passages), Milvus's ln(1 + (N − df + 0.5) / (df + 0.5)), and the tokenizers differ on
/// apostrophes and some punctuation.
/// </summary>
internal static class Bm25Bench
{
    private const string Collection = "docs";
    private const int MaxPassageBytes = 65_535;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("root", "max-passages", "passage-words", "nq", "nq-reference", "k", "dir", "md", "peer");
        var root = args.Text("root", "/usr/share/doc");
        var maxPassages = args.Int("max-passages", 50_000);
        var passageWords = args.Int("passage-words", 200);
        var nq = args.Int("nq", 500);
        var k = args.Int("k", 10);
        var nqReference = args.Int("nq-reference", 50);
        var peer = args.Text("peer", Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "peers", "fts5_bm25.py"));
        var folder = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-bm25-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var (passages, files) = Passages(root, passageWords, maxPassages);
            var queries = Queries(passages, nq, new Random(42));
            var passagesPath = Path.Combine(folder, "passages.jsonl");
            var queriesPath = Path.Combine(folder, "queries.jsonl");
            await File.WriteAllLinesAsync(passagesPath, passages.Select(p => JsonSerializer.Serialize(p)));
            await File.WriteAllLinesAsync(queriesPath, queries.Select(q => JsonSerializer.Serialize(q)));

            var (ours, ourQps, build, exact) = await QuiverAsync(Path.Combine(folder, "db"), passages, queries, k, nqReference);
            var fts = Fts5(peer, passagesPath, queriesPath, k);
            var ftsQps = queries.Count / fts.QuerySeconds;

            double overlap = 0, top1 = 0, compared = 0;
            for (var q = 0; q < queries.Count; q++)
            {
                var theirs = fts.Ids[q];
                if (theirs.Count == 0)
                {
                    continue;
                }

                compared++;
                overlap += ours[q].Intersect(theirs).Count() / (double)Math.Min(k, theirs.Count);
                top1 += ours[q].Count > 0 && ours[q][0] == theirs[0] ? 1 : 0;
            }

            var words = passages.Sum(p => (long)p.Split(' ').Length);
            var md = new StringBuilder();
            md.AppendLine(CultureInfo.InvariantCulture, $"BM25 top-{k} over Debian's documentation ({root}: {files:N0} text files, {passages.Count:N0} passages of up to {passageWords} words, {words:N0} words), {queries.Count} queries of 2–3 words, one query per call, both in one run");
            md.AppendLine();
            md.AppendLine("| engine | build s | QPS | p50 ms | CPU ms / query |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| Quiver embedded, BM25 function + SPARSE_INVERTED_INDEX (metric BM25), MaxScore (the default) | {build.TotalSeconds:F1} | {ourQps.Qps:F0} | {ourQps.P50Ms:F2} | {ourQps.CpuMs:F3} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| Quiver embedded, block-max MaxScore (not the default) | — | {exact.BlockMax.Qps:F0} | {exact.BlockMax.P50Ms:F2} | {exact.BlockMax.CpuMs:F3} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| Quiver embedded, exhaustive path (kept statistics, every posting scored) | — | {exact.Speed.Qps:F0} | {exact.Speed.P50Ms:F2} | {exact.Speed.CpuMs:F3} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| Quiver embedded, reference path (statistics walked over every visible row, every posting scored), first {exact.ReferenceQueries} queries | — | {exact.Reference.Qps:F1} | {exact.Reference.P50Ms:F2} | {exact.Reference.CpuMs:F3} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| SQLite {fts.Version} FTS5 bm25() (in-memory, python3 sqlite3) | {fts.BuildSeconds:F1} | {ftsQps:F0} | — | — |");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Quiver block-max / plain MaxScore: {ourQps.CpuMs / exact.BlockMax.CpuMs:F2}x less CPU per query ({exact.BlockMax.Qps / ourQps.Qps:F2}x QPS), identical top-{k} (ids and scores) for {exact.BlockMaxIdentical} of {queries.Count} queries; block-max / exhaustive: {exact.Speed.CpuMs / exact.BlockMax.CpuMs:F2}x less CPU per query.");
            md.AppendLine(CultureInfo.InvariantCulture, $"Quiver pruned / exhaustive: {ourQps.Qps / exact.Speed.Qps:F2}x QPS, identical top-{k} (ids and scores) for {exact.Identical} of {queries.Count} queries; pruned / reference: {ourQps.Qps / exact.Reference.Qps:F0}x, identical for {exact.ReferenceIdentical} of {exact.ReferenceQueries}. Sealed segments {exact.Segments}; first search after the build (builds and saves the postings) {exact.FirstBuiltMs:F0} ms, first search after a reopen (postings mapped from their files) {exact.FirstMappedMs:F1} ms.");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"QPS Quiver / FTS5: {ourQps.Qps / ftsQps:F2}. Agreement with FTS5 over the {compared:N0} queries FTS5 answers: top-{k} overlap {overlap / Math.Max(1, compared):F3}, same first hit {top1 / Math.Max(1, compared):F3}.");
            Console.WriteLine(md.ToString());
            if (args.Text("md") is { } path)
            {
                await File.WriteAllTextAsync(path, md.ToString());
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Passages of the text files under <paramref name="root"/> (sorted by path; .gz files decompressed; files
    /// holding a NUL byte or beyond 4 MiB skipped), each up to <paramref name="words"/> words joined by one space.</summary>
    private static (List<string> Passages, int Files) Passages(string root, int words, int max)
    {
        var passages = new List<string>();
        var files = 0;
        foreach (var path in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                     .Order(StringComparer.Ordinal))
        {
            if (passages.Count >= max)
            {
                break;
            }

            var text = ReadText(path);
            if (text is null)
            {
                continue;
            }

            files++;
            var all = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            for (var start = 0; start < all.Length && passages.Count < max; start += words)
            {
                // A passage must fit the VarChar field (65,535 bytes); runs of encoded data can make one too long.
                var passage = string.Join(' ', all.Skip(start).Take(words));
                if (Encoding.UTF8.GetByteCount(passage) <= MaxPassageBytes)
                {
                    passages.Add(passage);
                }
            }
        }

        return (passages, files);
    }

    private static string? ReadText(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null || info.Length > 4 << 20)
            {
                return null;
            }

            var ext = Path.GetExtension(path).ToLowerInvariant();
            if (ext is ".html" or ".htm" or ".png" or ".jpg" or ".gif" or ".svg" or ".pdf" or ".css" or ".js" or ".xz" or ".bz2")
            {
                return null;
            }

            using var file = File.OpenRead(path);
            using Stream input = ext == ".gz" ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var buffer = new MemoryStream();
            input.CopyTo(buffer);
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            return bytes.Length == 0 || bytes.Length > 4 << 20 || bytes.Contains((byte)0) ? null : Encoding.UTF8.GetString(bytes);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Seeded queries: 2 or 3 words of 4+ letters from a random passage, lower-cased.</summary>
    private static List<string> Queries(List<string> passages, int nq, Random rng)
    {
        var queries = new List<string>(nq);
        while (queries.Count < nq)
        {
            var candidates = passages[rng.Next(passages.Count)].Split(' ')
                .Where(w => w.Length >= 4 && w.All(char.IsAsciiLetter)).Select(w => w.ToLowerInvariant()).Distinct().ToList();
            if (candidates.Count < 3)
            {
                continue;
            }

            var n = 2 + rng.Next(2);
            queries.Add(string.Join(' ', Enumerable.Range(0, n).Select(_ => candidates[rng.Next(candidates.Count)]).Distinct()));
        }

        return queries;
    }

    private sealed record Exhaustive(
        (double Qps, double P50Ms, double CpuMs) Speed, int Identical, (double Qps, double P50Ms, double CpuMs) BlockMax, int BlockMaxIdentical, (double Qps, double P50Ms, double CpuMs) Reference, int ReferenceQueries, int ReferenceIdentical,
        int Segments, double FirstBuiltMs, double FirstMappedMs);

    private static async Task<(List<List<long>> Ids, (double Qps, double P50Ms, double CpuMs) Speed, TimeSpan Build, Exhaustive Exact)> QuiverAsync(
        string folder, List<string> passages, List<string> queries, int k, int nqReference)
    {
        var options = new QuiverOptions { BackgroundMaintenance = false };
        var db = await QuiverEngine.OpenAsync(folder, options);
        try
        {
            await db.CreateCollectionAsync(Collection, new CollectionSchema
            {
                Fields =
                [
                    FieldSchema.Int64Key("id"),
                    FieldSchema.VarChar("text", MaxPassageBytes) with { EnableAnalyzer = true },
                    FieldSchema.SparseVector("sparse"),
                ],
                Functions = [CollectionFunction.BM25("bm25", "text", "sparse")],
            });
            var build = Stopwatch.StartNew();
            for (var start = 0; start < passages.Count; start += 2_000)
            {
                var batch = Enumerable.Range(start, Math.Min(2_000, passages.Count - start))
                    .Select(i => new Row { ["id"] = (long)i, ["text"] = passages[i] }).ToList();
                await db.InsertAsync(Collection, batch);
            }

            await db.FlushAsync(Collection);
            await db.CreateIndexAsync(Collection, new IndexDefinition { FieldName = "sparse", IndexType = "SPARSE_INVERTED_INDEX", Metric = MetricType.BM25 });

            // The first search of each sealed segment builds its posting lists and saves them (counted in build).
            var first = Stopwatch.StartNew();
            await db.SearchAsync(Collection, new SearchRequest { Vectors = [], QueryTexts = [queries[0]], Limit = k });
            var firstBuiltMs = first.Elapsed.TotalMilliseconds;
            build.Stop();
            var segments = (await db.DescribeCollectionAsync(Collection)).SealedSegments;

            await db.DisposeAsync();
            db = await QuiverEngine.OpenAsync(folder, options);
            first.Restart();
            await db.SearchAsync(Collection, new SearchRequest { Vectors = [], QueryTexts = [queries[0]], Limit = k });
            var firstMappedMs = first.Elapsed.TotalMilliseconds;

            // One untimed pass over every query on each timed path first, so that no path pays for the others' cold start
            // (JIT, first touch of the mapped postings): the first timed path used to run cold and look slowest.
            foreach (var path in new[] { Sparse.Bm25Path.MaxScore, Sparse.Bm25Path.BlockMax, Sparse.Bm25Path.Exhaustive })
            {
                Sparse.Bm25Search.Path = path;
                await TimedAsync(db, queries, k);
            }

            Sparse.Bm25Search.Path = Sparse.Bm25Path.MaxScore;
            var (hits, speed) = await TimedAsync(db, queries, k);
            Sparse.Bm25Search.Path = Sparse.Bm25Path.BlockMax;
            var (blockMaxHits, blockMaxSpeed) = await TimedAsync(db, queries, k);
            Sparse.Bm25Search.Path = Sparse.Bm25Path.Exhaustive;
            var (exhaustiveHits, exhaustiveSpeed) = await TimedAsync(db, queries, k);
            var few = queries.Take(Math.Min(nqReference, queries.Count)).ToList();
            Sparse.Bm25Search.Path = Sparse.Bm25Path.Reference;
            var (referenceHits, referenceSpeed) = await TimedAsync(db, few, k);
            Sparse.Bm25Search.Path = Sparse.Bm25Path.MaxScore;
            var identical = hits.Zip(exhaustiveHits).Count(p => p.First.SequenceEqual(p.Second));
            var blockMaxIdentical = hits.Zip(blockMaxHits).Count(p => p.First.SequenceEqual(p.Second));
            var referenceIdentical = hits.Zip(referenceHits).Count(p => p.First.SequenceEqual(p.Second));
            var ids = hits.Select(h => h.Select(x => x.Id).ToList()).ToList();
            return (ids, speed, build.Elapsed,
                new Exhaustive(exhaustiveSpeed, identical, blockMaxSpeed, blockMaxIdentical, referenceSpeed, few.Count, referenceIdentical, segments, firstBuiltMs, firstMappedMs));
        }
        finally
        {
            await db.DisposeAsync();
        }
    }

    /// <summary>Warms up on the first 20 queries (at most 2 for a short list), then times every query, one per call; CpuMs
    /// is the process's CPU time per query over the timed calls (the figure to compare on a loaded machine).</summary>
    private static async Task<(List<List<(long Id, float Score)>> Hits, (double Qps, double P50Ms, double CpuMs) Speed)> TimedAsync(QuiverEngine db, List<string> queries, int k)
    {
        foreach (var q in queries.Take(queries.Count >= 200 ? 20 : 2))
        {
            await db.SearchAsync(Collection, new SearchRequest { Vectors = [], QueryTexts = [q], Limit = k });
        }

        var hits = new List<List<(long Id, float Score)>>(queries.Count);
        var times = new List<double>(queries.Count);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.StartNew();
        foreach (var q in queries)
        {
            var one = Stopwatch.StartNew();
            var result = await db.SearchAsync(Collection, new SearchRequest { Vectors = [], QueryTexts = [q], Limit = k });
            times.Add(one.Elapsed.TotalMilliseconds);
            hits.Add([.. result.Hits[0].Select(h => ((long)h.Id, h.Score))]);
        }

        total.Stop();
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / queries.Count;
        times.Sort();
        return (hits, (queries.Count / total.Elapsed.TotalSeconds, times[times.Count / 2], cpuMs));
    }

    private sealed record Fts5Answer(string Version, double BuildSeconds, double QuerySeconds, List<List<long>> Ids);

    private static Fts5Answer Fts5(string script, string passages, string queries, int k)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, passages, queries, k.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}): {errors.Result}");
        }

        using var json = JsonDocument.Parse(output);
        var r = json.RootElement;
        return new Fts5Answer(
            r.GetProperty("sqlite").GetString()!,
            r.GetProperty("build_seconds").GetDouble(),
            r.GetProperty("query_seconds").GetDouble(),
            [.. r.GetProperty("ids").EnumerateArray().Select(l => l.EnumerateArray().Select(x => x.GetInt64()).ToList())]);
    }
}
