namespace Quiver.Common;

/// <summary>Hands out strictly increasing hybrid timestamps: milliseconds since the Unix epoch in the high bits and an
/// 18-bit logical counter in the low bits, as Milvus's TSO does, so that a timestamp also tells wall-clock time.
/// Thread-safe.</summary>
internal sealed class HybridClock
{
    public const int LogicalBits = 18;
    private long _last;

    public HybridClock(long last) => _last = last;

    public long Last => Volatile.Read(ref _last);

    public static long PhysicalMs(long ts) => ts >> LogicalBits;

    public long Next()
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(last + 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << LogicalBits);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }

    /// <summary>Moves the clock past a timestamp seen during recovery.</summary>
    public void Observe(long ts)
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            if (ts <= last || Interlocked.CompareExchange(ref _last, ts, last) == last)
            {
                return;
            }
        }
    }
}
