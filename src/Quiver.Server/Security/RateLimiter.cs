using System.Collections.Concurrent;

namespace Quiver.Server.Security;

/// <summary>A token bucket per caller: <c>rate</c> tokens per second, holding at most <c>burst</c> (default one second's
/// worth, at least one). Taking a token is one atomic step under the bucket's lock, so concurrent callers can never take
/// more than the bucket holds: a caller that must spend budget before it knows whether it will need it (a login whose
/// password is not verified yet) takes the token first and gives it back with <see cref="Refund"/>. Time comes from the
/// injected <see cref="TimeProvider"/> (the system clock by default). Thread-safe.</summary>
internal sealed class RateLimiter(double ratePerSecond, double burst = 0, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly double _capacity = Math.Max(1, burst > 0 ? burst : ratePerSecond);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Most tokens a bucket holds.</summary>
    public double Capacity => _capacity;

    /// <summary>Tokens added per second.</summary>
    public double RatePerSecond => ratePerSecond;

    /// <summary>Takes one token for <paramref name="caller"/>; false (taking nothing) when the bucket is empty.</summary>
    public bool TryAcquire(string caller)
    {
        if (ratePerSecond <= 0)
        {
            return true;
        }
        var bucket = BucketOf(caller);
        lock (bucket)
        {
            Refill(bucket);
            if (bucket.Tokens < 1)
            {
                return false;
            }
            bucket.Tokens -= 1;
            return true;
        }
    }

    /// <summary>Gives back a token taken by <see cref="TryAcquire"/> that turned out not to be spent (never above the
    /// capacity).</summary>
    public void Refund(string caller)
    {
        if (ratePerSecond <= 0)
        {
            return;
        }
        var bucket = BucketOf(caller);
        lock (bucket)
        {
            Refill(bucket);
            bucket.Tokens = Math.Min(_capacity, bucket.Tokens + 1);
        }
    }

    private Bucket BucketOf(string caller)
    {
        if (_buckets.Count > 100_000)
        {
            _buckets.Clear(); // many callers (addresses) come and go: start them all full again rather than grow
        }
        return _buckets.GetOrAdd(caller, _ => new Bucket(_capacity, _time.GetTimestamp()));
    }

    private void Refill(Bucket bucket)
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(bucket.Updated, now).TotalSeconds;
        bucket.Tokens = Math.Min(_capacity, bucket.Tokens + (elapsed * ratePerSecond));
        bucket.Updated = now;
    }

    private sealed class Bucket(double tokens, long updated)
    {
        public double Tokens = tokens;
        public long Updated = updated;
    }
}
