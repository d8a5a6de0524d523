namespace Quiver.Server.Hosting;

/// <summary>
/// Gives memory back after a large request. A search, query or REST body that held more than <see cref="Threshold"/>
/// leaves that much garbage behind, and with no allocation after it nothing would run the collector: the process would
/// keep the memory (issue 12 saw 7.4 GB held after one search). Requests report their size with <see cref="Noted"/>;
/// once the server has had no large request for <see cref="Delay"/>, one compacting full collection runs in
/// <see cref="GCCollectionMode.Aggressive"/> mode, which also returns the freed memory to the operating system. A
/// steady stream of large requests postpones it: the collector then runs on its own. Thread-safe.
/// </summary>
internal sealed class MemoryReclaimer : IDisposable
{
    /// <summary>Requests smaller than this (32 MiB) do not schedule a collection.</summary>
    public const long Threshold = 32L * 1024 * 1024;

    private readonly Timer _timer;
    private int _collections;

    /// <summary>A reclaimer that collects <paramref name="delay"/> after the last large request.</summary>
    public MemoryReclaimer(TimeSpan delay)
    {
        Delay = delay;
        _timer = new Timer(_ => Collect(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How long after the last large request the collection runs.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Collections run so far (for tests and diagnostics).</summary>
    public int Collections => Volatile.Read(ref _collections);

    /// <summary>Reports a request that held about <paramref name="bytes"/>; from <see cref="Threshold"/> up it (re)starts
    /// the delay before a collection.</summary>
    public void Noted(long bytes)
    {
        if (bytes >= Threshold)
        {
            _timer.Change(Delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Interlocked.Increment(ref _collections);
    }

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();
}
