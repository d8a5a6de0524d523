namespace Quiver.Common;

/// <summary>Hands out strictly increasing hybrid timestamps: milliseconds since the Unix epoch in the high bits and an
/// 18-bit logical counter in the low bits, as Milvus's TSO does, so that a timestamp also tells wall-clock time.
/// Thread-safe.
/// <para>Physical time comes from a <see cref="TimeProvider"/> (the system clock unless a test injects one,
/// <see cref="QuiverOptions.Time"/>), so that time-dependent behaviour such as TTL expiry is testable without waiting.</para></summary>
internal sealed class HybridClock
{
    public const int LogicalBits = 18;
    private readonly TimeProvider _time;
    private long _last;

    public HybridClock(long last, TimeProvider? time = null)
    {
        _last = last;
        _time = time ?? TimeProvider.System;
    }

    public long Last => Volatile.Read(ref _last);

    public static long PhysicalMs(long ts) => ts >> LogicalBits;

    public long Next()
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(last + 1, _time.GetUtcNow().ToUnixTimeMilliseconds() << LogicalBits);
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
