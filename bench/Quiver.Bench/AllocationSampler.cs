using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Quiver.Bench;

/// <summary>
/// Which types a stretch of code allocates, sampled in process: the runtime raises its GC <c>AllocationTick</c> event
/// each time about 100 kB more has been allocated on a heap, naming the type of the object that crossed the mark, so over
/// many calls the count per type is proportional to the bytes allocated as that type. No stacks, no tools: enough to see
/// what a layer allocates by the names of the types (a body buffer, JSON nodes, protobuf messages, strings).
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    /// <summary>The runtime's GC keyword.</summary>
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentDictionary<string, long> _samples = new(StringComparer.Ordinal);
    private volatile bool _counting;

    /// <summary>Starts counting samples (after a reset).</summary>
    public void Start()
    {
        _samples.Clear();
        _counting = true;
    }

    /// <summary>Stops counting and returns the sampled types, most samples first, with their share of all samples.</summary>
    public IReadOnlyList<(string Type, long Samples, double Share)> Stop()
    {
        _counting = false;
        var total = Math.Max(1, _samples.Values.Sum());
        return [.. _samples.OrderByDescending(p => p.Value).Select(p => (p.Key, p.Value, (double)p.Value / total))];
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_counting || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }
        var index = e.PayloadNames.IndexOf("TypeName");
        var type = index >= 0 ? e.Payload?[index] as string ?? "?" : "?";
        _samples.AddOrUpdate(type, 1, (_, n) => n + 1);
    }
}
