using System.Globalization;
using Quiver;

/// <summary>The child of the larger-than-memory test: opens a collection that another process built and indexed, runs the
/// queries of a file (float32 rows) through <c>SearchAsync</c>, prints each query's hit ids, then this process's memory
/// as the kernel and the runtime report it. It runs under a memory cap its parent sets (a memory cgroup, or
/// <c>DOTNET_GCHeapHardLimit</c>), so that a structure proportional to the collection would fail it.</summary>
internal static class CappedSearchHost
{
    public const string Mode = "capped-search";

    /// <summary>Usage: capped-search &lt;folder&gt; &lt;collection&gt; &lt;queries.f32&gt; &lt;dim&gt; &lt;limit&gt; &lt;search_list&gt;.
    /// Prints <c>INDEX built loaded</c>, <c>HITS id id …</c> per query, then <c>MEM RssAnon RssFile VmHWM GcHeap
    /// MajorFaults</c> (bytes, then the count of page faults that read from disk).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 6)
        {
            Console.Error.WriteLine($"usage: Quiver.CrashHost {Mode} <folder> <collection> <queries.f32> <dim> <limit> <search_list>");
            return 2;
        }

        var (folder, collection, queryFile) = (args[0], args[1], args[2]);
        var dim = int.Parse(args[3], CultureInfo.InvariantCulture);
        var limit = int.Parse(args[4], CultureInfo.InvariantCulture);
        var searchList = args[5];
        var raw = await File.ReadAllBytesAsync(queryFile);
        var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray();
        var stdout = Console.Out;
        await using (var db = await QuiverEngine.OpenAsync(folder, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.WaitForIndexAsync(collection);
            var stats = db.GetIndexStatistics(collection);
            stdout.WriteLine($"INDEX {stats.Built} {stats.Loaded}");
            for (var q = 0; q < all.Length / dim; q++)
            {
                var result = await db.SearchAsync(collection, new SearchRequest
                {
                    Vectors = [all.AsSpan(q * dim, dim).ToArray()],
                    Limit = limit,
                    SearchParams = new Dictionary<string, string> { ["search_list"] = searchList },
                });
                stdout.WriteLine("HITS " + string.Join(' ', result.Hits[0].Select(h => Convert.ToString(h.Id, CultureInfo.InvariantCulture))));
            }

            // Measured while the collection is open: the index and segments are still mapped and referenced.
            GC.Collect();
            var status = File.ReadAllLines("/proc/self/status");
            stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"MEM {Kb(status, "RssAnon:")} {Kb(status, "RssFile:")} {Kb(status, "VmHWM:")} {GC.GetGCMemoryInfo().HeapSizeBytes} {MajorFaults()}"));
        }

        stdout.Flush();
        return 0;
    }

    /// <summary>Field 12 of /proc/self/stat (majflt), counted after the command name, which may hold spaces.</summary>
    private static long MajorFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[9], CultureInfo.InvariantCulture);
    }

    private static long Kb(string[] status, string key) =>
        status.Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => long.Parse(l[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024)
            .FirstOrDefault(-1);
}
