using System.Runtime;

namespace Quiver.Server.Observability;

/// <summary>The process's memory families of <c>GET /metrics</c>, written alike by the standalone server
/// (<see cref="ServerMetrics"/>) and by a cluster node (its own <c>/metrics</c>), so that what holds a process's memory
/// can be read off either: the working set, the managed heap after the last collection and what it was made of
/// (each generation, the large and pinned object heaps, the free space between live objects), the memory the collector
/// holds from the OS (committed), and which collector runs with which settings. Read from
/// <see cref="GC.GetGCMemoryInfo()"/>: these are the figures of the last collection, not a new one.</summary>
internal static class ProcessMetrics
{
    /// <summary>The generation labels, in <see cref="GCMemoryInfo.GenerationInfo"/>'s order.</summary>
    private static readonly string[] Generations = ["0", "1", "2", "loh", "poh"];

    /// <summary>Writes the families onto <paramref name="text"/>; <paramref name="uptime"/> is the server's.</summary>
    public static void Write(PrometheusText text, TimeSpan uptime)
    {
        var gc = GC.GetGCMemoryInfo();
        text.Family("quiver_process_working_set_bytes", "gauge", "Physical memory of the process in bytes.");
        text.Sample("quiver_process_working_set_bytes", Environment.WorkingSet);
        text.Family("quiver_memory_limit_bytes", "gauge", "Memory available to the process in bytes: the container limit when there is one, else the machine's physical memory.");
        text.Sample("quiver_memory_limit_bytes", gc.TotalAvailableMemoryBytes);
        text.Family("quiver_gc_heap_bytes", "gauge", "Managed heap size in bytes after the last garbage collection (before the first one, the bytes in use now).");
        // Before the process's first collection GetGCMemoryInfo is all zeros; a heap of 0 would read as a broken probe.
        text.Sample("quiver_gc_heap_bytes", gc.Index == 0 ? GC.GetTotalMemory(forceFullCollection: false) : gc.HeapSizeBytes);
        text.Family("quiver_gc_generation_bytes", "gauge", "Each generation's size in bytes after the last garbage collection (0, 1, 2, the large object heap, the pinned object heap).");
        var generations = gc.GenerationInfo;
        for (var g = 0; g < Generations.Length && g < generations.Length; g++)
        {
            text.Sample("quiver_gc_generation_bytes", generations[g].SizeAfterBytes, "generation", Generations[g]);
        }

        text.Family("quiver_gc_fragmented_bytes", "gauge", "Free space inside the managed heap after the last garbage collection, in bytes.");
        text.Sample("quiver_gc_fragmented_bytes", gc.FragmentedBytes);
        text.Family("quiver_gc_committed_bytes", "gauge", "Memory the garbage collector holds from the operating system, in bytes.");
        text.Sample("quiver_gc_committed_bytes", gc.TotalCommittedBytes);
        text.Family("quiver_gc_last_collection_generation", "gauge", "The generation the last garbage collection collected (2: a full collection).");
        text.Sample("quiver_gc_last_collection_generation", gc.Index == 0 ? -1 : gc.Generation);
        text.Family("quiver_gc_collections_total", "counter", "Garbage collections of each generation since the process started (a collection of generation 2 counts in 0 and 1 too).");
        for (var g = 0; g <= GC.MaxGeneration; g++)
        {
            text.Sample("quiver_gc_collections_total", GC.CollectionCount(g), "generation", Generations[g]);
        }

        text.Family("quiver_gc_settings", "gauge", "The garbage collector's settings in effect: 1 for the server collector, the conserve-memory level (0-9), the hard heap limit in bytes (0: none).");
        text.Sample("quiver_gc_settings", GCSettings.IsServerGC ? 1 : 0, "setting", "server");
        text.Sample("quiver_gc_settings", ConserveMemory, "setting", "conserve_memory");
        text.Sample("quiver_gc_settings", HeapHardLimit, "setting", "heap_hard_limit");
        text.Family("quiver_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since the process started.");
        text.Sample("quiver_gc_allocated_bytes_total", GC.GetTotalAllocatedBytes());
        text.Family("quiver_uptime_seconds", "gauge", "Seconds since the server started.");
        text.Sample("quiver_uptime_seconds", uptime.TotalSeconds);
    }

    /// <summary>The conserve-memory level in effect (<c>System.GC.ConserveMemory</c> in the runtime configuration or
    /// <c>DOTNET_GCConserveMemory</c>), 0 when neither is set.</summary>
    public static long ConserveMemory => Setting("GCConserveMem");

    /// <summary>The hard heap limit in effect, bytes (0: none).</summary>
    public static long HeapHardLimit => Setting("GCHeapHardLimit");

    /// <summary>A numeric setting of <see cref="GC.GetConfigurationVariables"/> (its names are the runtime's own, not always
    /// the environment's: <c>GCConserveMem</c> for <c>DOTNET_GCConserveMemory</c>), 0 when absent.</summary>
    private static long Setting(string name) =>
        GC.GetConfigurationVariables().TryGetValue(name, out var value) ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
}
