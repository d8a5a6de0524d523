using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Quiver.Segments;

namespace Quiver.Bench;

/// <summary>
/// <c>overgraph --mode reopen</c>: what a search issued right after a reopen gets while the collection's index files are
/// still loading, on the folder <c>--build true</c> made. Each round opens the folder twice, in alternating order (ABBA
/// over the rounds), once per setting of <see cref="QuiverOptions.IndexLoadWait"/>:
/// <list type="bullet">
/// <item><c>wait</c> (the default 30 s): the open's time, then the first search at once, which waits for the loads and
/// walks the indexes; its latency is the time to the first indexed answer;</item>
/// <item><c>zero</c> (never wait): the open's time, then searches one after another from the open on; those answered
/// before every index is attached search the unloaded segments exactly: their count, latency and recall, and the time
/// to the first search that walked every graph.</item>
/// </list>
/// Both then run the <c>--nq</c> queries through the attached indexes for the indexed recall. The time the loads took
/// (open to the last attach) is read from the shard's load counter. The index files are in the page cache (the build or
/// the previous round read them): a cold read from disk is not measured.
/// </summary>
internal static partial class OverGraph
{
    private static async Task<JsonArray> ReopenAsync(string folder, SearchRequest[] requests, int[] truth, int truthWidth, int k, int rounds, string label)
    {
        var points = new JsonArray();
        for (var r = 0; r < rounds; r++)
        {
            foreach (var wait in r % 2 == 0 ? new[] { true, false } : [false, true])
            {
                points.Add(await ReopenOnceAsync(folder, requests, truth, truthWidth, k, wait, r, label));
            }
        }

        return points;
    }

    private static async Task<JsonObject> ReopenOnceAsync(string folder, SearchRequest[] requests, int[] truth, int truthWidth, int k, bool wait, int round, string label)
    {
        var options = new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false };
        if (!wait)
        {
            options = options with { IndexLoadWait = TimeSpan.Zero };
        }

        var started = Stopwatch.GetTimestamp();
        await using var engine = await QuiverEngine.OpenAsync(folder, options);
        var openMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var shard = engine.ShardOf(Collection);
        var graphs = shard.Statistics().Sealed;

        // The loads' end, seen from a poll of the shard's load counter (1 ms apart; the bench's only background work).
        var loadsDone = Task.Run(async () =>
        {
            while (shard.IndexesLoaded < graphs)
            {
                await Task.Delay(1);
            }

            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });

        // Searches from the open on, one at a time, until one walks every graph.
        var during = new List<(double Ms, int Indexed, long[] Ids, int Query)>();
        double firstIndexedMs;
        var q = 0;
        var checksummed = -1L;
        while (true)
        {
            var t = Stopwatch.GetTimestamp();
            var verifiedBefore = MappedBlock.VerifiedBytes;
            var result = await engine.SearchAsync(Collection, requests[q % requests.Length]);
            var ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            if (checksummed < 0)
            {
                // The segment blocks the first search checksummed (index files are checked by their loads, not counted here).
                checksummed = MappedBlock.VerifiedBytes - verifiedBefore;
            }

            var indexed = result.Stats()!.IndexedSegments;
            if (indexed == graphs)
            {
                firstIndexedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                during.Add((ms, indexed, [], q % requests.Length));
                break;
            }

            during.Add((ms, indexed, [.. result.Hits[0].Select(h => (long)h.Id)], q % requests.Length));
            q++;
        }

        var loadsMs = await loadsDone;
        var first = during[0];
        var exact = during.Where(d => d.Indexed < graphs).ToList();
        var exactRecall = exact.Count == 0 ? double.NaN : exact.Average(d => RecallOf(d.Ids, d.Query, truth, truthWidth, k));
        var indexedIds = EmbeddedPass(engine, requests, null);
        var indexedRecall = Recall(indexedIds, truth, truthWidth, k);
        var c = CultureInfo.InvariantCulture;
        var mode = wait ? "wait" : "zero";
        Console.WriteLine(string.Create(c,
            $"{label} round {round} IndexLoadWait {mode}: open {openMs:F1} ms, loads done {loadsMs:F0} ms after the open start; first search {first.Ms:F0} ms " +
            $"({first.Indexed}/{graphs} graphs, {checksummed / 1e6:F2} MB of segment blocks checksummed), first search over every graph answered {firstIndexedMs:F0} ms after the open start; " +
            $"{exact.Count} searches answered with segments searched exactly (median {Median(exact.Select(d => d.Ms)):F0} ms, recall {exactRecall:F4}); " +
            $"indexed recall {indexedRecall:F4} over {requests.Length} queries"));
        return new JsonObject
        {
            ["label"] = label,
            ["round"] = round,
            ["index_load_wait"] = mode,
            ["graphs"] = graphs,
            ["open_ms"] = openMs,
            ["loads_done_ms"] = loadsMs,
            ["first_search_ms"] = first.Ms,
            ["first_search_indexed_graphs"] = first.Indexed,
            ["first_search_checksummed_bytes"] = checksummed,
            ["first_all_graphs_answer_ms"] = firstIndexedMs,
            ["searches_with_exact_segments"] = exact.Count,
            ["exact_search_ms"] = new JsonArray([.. exact.Select(d => (JsonNode)d.Ms)]),
            ["exact_recall"] = exact.Count == 0 ? null : exactRecall,
            ["indexed_recall"] = indexedRecall,
        };
    }

    private static double RecallOf(long[] ids, int query, int[] truth, int width, int k)
    {
        var exact = truth.AsSpan(query * width, Math.Min(k, width)).ToArray();
        return ids.Count(id => Array.IndexOf(exact, (int)id) >= 0) / (double)k;
    }
}
