using System.Collections.Concurrent;
using System.Diagnostics;

namespace Quiver.Server.Security;

/// <summary>A token bucket per caller: <c>rate</c> tokens per second, holding at most <c>burst</c> (default one second's
/// worth, at least one). Thread-safe; each bucket is updated under its own lock.</summary>
internal sealed class RateLimiter(double ratePerSecond, double burst = 0)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly double _capacity = Math.Max(1, burst > 0 ? burst : ratePerSecond);

    /// <summary>Takes one token for <paramref name="caller"/>; false when the bucket is empty.</summary>
    public bool TryAcquire(string caller) => Take(caller, consume: true);

    /// <summary>True when <paramref name="caller"/>'s bucket holds a token; takes none.</summary>
    public bool HasToken(string caller) => Take(caller, consume: false);

    private bool Take(string caller, bool consume)
    {
        if (ratePerSecond <= 0)
        {
            return true;
        }
        if (_buckets.Count > 100_000)
        {
            _buckets.Clear(); // many callers (addresses) come and go: start them all full again rather than grow
        }
        var bucket = _buckets.GetOrAdd(caller, _ => new Bucket(_capacity));
        lock (bucket)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = Stopwatch.GetElapsedTime(bucket.Updated, now).TotalSeconds;
            bucket.Tokens = Math.Min(_capacity, bucket.Tokens + elapsed * ratePerSecond);
            bucket.Updated = now;
            if (bucket.Tokens < 1)
            {
                return false;
            }
            if (consume)
            {
                bucket.Tokens -= 1;
            }
            return true;
        }
    }

    private sealed class Bucket(double tokens)
    {
        public double Tokens = tokens;
        public long Updated = Stopwatch.GetTimestamp();
    }
}
