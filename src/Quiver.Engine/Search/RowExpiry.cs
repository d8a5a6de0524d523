using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Search;

/// <summary>Milvus's collection time-to-live (<c>collection.ttl.seconds</c>): a row whose insert time plus the TTL is
/// before now is invisible to every read at once, and compaction drops it.
/// <para>A read turns the TTL into one hybrid timestamp, <c>expireBefore = (now_ms - ttl_ms) &lt;&lt; 18</c>, reading
/// the clock once per read, never per row: a row is expired iff its insert timestamp is below it (insert ms + ttl ms &lt;
/// now ms). Per segment that costs O(1) when the segment's oldest row is not expired (every segment when no TTL is set:
/// expireBefore is 0) and when its newest row is (the read leaves the segment out); only a segment that straddles the
/// cut pays O(rows / 64) to mask its expired prefix (rows are appended in timestamp order) or, for a merged segment whose
/// rows are not in that order, one pass over its insert timestamps.</para></summary>
internal static class RowExpiry
{
    /// <summary>The collection property holding the TTL in seconds, as Milvus names it.</summary>
    public const string TtlProperty = "collection.ttl.seconds";

    /// <summary>The property of Milvus's entity-level TTL (a TIMESTAMPTZ field holding each row's expiry), which Quiver
    /// refuses rather than store and ignore (<see cref="TtlFieldRefused"/>).</summary>
    public const string TtlFieldProperty = "ttl_field";

    /// <summary>Why <see cref="TtlFieldProperty"/> is refused.</summary>
    public const string TtlFieldRefused =
        "ttl_field (entity-level TTL) is not supported: Milvus v2.6.0, the version this server speaks, has no entity-level TTL; " +
        "use collection.ttl.seconds, or keep an expiry time in a TIMESTAMPTZ field and filter and delete by it";

    /// <summary>Milvus's largest TTL: 100 years of seconds.</summary>
    public const long MaxTtlSeconds = 3_155_760_000;

    private static readonly ConditionalWeakTable<Segment, Order> SealedOrder = [];

    /// <summary>The TTL of a collection with these properties in milliseconds, 0 when none is set or it is not positive
    /// (Milvus's -1 and 0 mean "no TTL"). Values were checked by <see cref="Validate"/> when set.</summary>
    public static long TtlMs(IReadOnlyDictionary<string, string> properties) =>
        properties.TryGetValue(TtlProperty, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s > 0
            ? s * 1000
            : 0;

    /// <summary>Checks a <c>collection.ttl.seconds</c> value as Milvus does: an integer in [-1, 3155760000].</summary>
    public static void Validate(IEnumerable<KeyValuePair<string, string>> properties)
    {
        foreach (var (key, value) in properties)
        {
            if (key == TtlFieldProperty)
            {
                Throw.Invalid(TtlFieldRefused);
            }

            if (key != TtlProperty)
            {
                continue;
            }

            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
            {
                Throw.Invalid($"collection TTL is not a valid positive integer: {TtlProperty} '{value}'");
            }

            if (seconds is < -1 or > MaxTtlSeconds)
            {
                Throw.Invalid($"collection TTL is out of range, expect [-1, {MaxTtlSeconds}], got {seconds}");
            }
        }
    }

    /// <summary>The hybrid timestamp below which rows are expired at the clock's present, or 0 without a TTL.</summary>
    public static long ExpireBefore(long ttlMs, TimeProvider time)
    {
        if (ttlMs <= 0)
        {
            return 0;
        }

        var cutMs = time.GetUtcNow().ToUnixTimeMilliseconds() - ttlMs;
        return cutMs <= 0 ? 0 : cutMs << HybridClock.LogicalBits;
    }

    /// <summary>Whether every row of the segment is expired (a read leaves it out; compaction drops it whole).</summary>
    public static bool AllExpired(Segment segment, long expireBefore) =>
        expireBefore > 0 && segment.Count > 0 && segment.MaxInsertTs < expireBefore;

    /// <summary>Removes the expired rows of <paramref name="snapshot"/> from <paramref name="visible"/> (null: every row;
    /// a bitmap handed in may be shared and is never changed) and from <paramref name="count"/>. O(1) when no row of the
    /// snapshot is expired.</summary>
    public static void Restrict(SegmentSnapshot snapshot, long expireBefore, ref Bitmap? visible, ref int count)
    {
        var rows = snapshot.RowCount;
        if (expireBefore <= 0 || rows == 0 || count == 0)
        {
            return;
        }

        var insertTs = snapshot.InsertTimestamps;
        var order = OrderOf(snapshot.Segment, insertTs);
        if (order.Min >= expireBefore)
        {
            return;
        }

        Bitmap kept;
        if (order.Ascending)
        {
            // Expired rows are a prefix: [0, first) where first is the first row inserted at or after the cut.
            var first = FirstAtOrAfter(insertTs, expireBefore);
            kept = new Bitmap(rows, true);
            ClearPrefix(kept, first);
        }
        else
        {
            kept = new Bitmap(rows);
            for (var r = 0; r < rows; r++)
            {
                if (insertTs[r] >= expireBefore)
                {
                    kept.Set(r);
                }
            }
        }

        if (visible is not null)
        {
            kept.And(visible);
        }

        visible = kept;
        count = kept.PopCount();
    }

    /// <summary>Whether one row is expired (a point read: get by key).</summary>
    public static bool IsExpired(long insertTs, long expireBefore) => insertTs < expireBefore;

    /// <summary>Rows of a sealed segment expired at <paramref name="expireBefore"/> (for the compaction planner): O(log rows)
    /// when its rows are in timestamp order, else one pass, once per segment (the order is then cached).</summary>
    public static int ExpiredRows(Segment segment, long expireBefore)
    {
        if (expireBefore <= 0 || segment.Count == 0)
        {
            return 0;
        }

        var insertTs = segment.AllInsertTimestamps;
        var order = OrderOf(segment, insertTs);
        if (order.Min >= expireBefore)
        {
            return 0;
        }

        if (order.Ascending)
        {
            return FirstAtOrAfter(insertTs, expireBefore);
        }

        var n = 0;
        foreach (var ts in insertTs)
        {
            n += ts < expireBefore ? 1 : 0;
        }

        return n;
    }

    private static Order OrderOf(Segment segment, ReadOnlySpan<long> insertTs)
    {
        if (!segment.IsSealed)
        {
            // A growing segment appends rows under the apply lock in WAL order, which is timestamp order.
            Debug.Assert(insertTs.Length < 2 || insertTs[0] <= insertTs[^1], "growing rows out of timestamp order");
            return new Order(insertTs.Length == 0 ? long.MaxValue : insertTs[0], true);
        }

        if (SealedOrder.TryGetValue(segment, out var known))
        {
            return known;
        }

        // A sealed segment's timestamps never change; a merge may have concatenated sources out of order.
        var min = long.MaxValue;
        var ascending = true;
        for (var i = 0; i < insertTs.Length; i++)
        {
            min = Math.Min(min, insertTs[i]);
            ascending &= i == 0 || insertTs[i - 1] <= insertTs[i];
        }

        var order = new Order(min, ascending);
        SealedOrder.AddOrUpdate(segment, order);
        return order;
    }

    private static int FirstAtOrAfter(ReadOnlySpan<long> ascending, long ts)
    {
        int lo = 0, hi = ascending.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (ascending[mid] < ts)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static void ClearPrefix(Bitmap bits, int rows)
    {
        var words = bits.Words;
        words[..(rows >> 6)].Clear();
        if ((rows & 63) != 0)
        {
            words[rows >> 6] &= ~0UL << (rows & 63);
        }
    }

    private sealed record Order(long Min, bool Ascending);
}
