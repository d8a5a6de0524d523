using System.Collections.Concurrent;

namespace Quiver.Cluster.Nodes;

/// <summary>The last write timestamp a node saw for each (client, shard): what a Session read of that client must see on
/// the shard's replica. Bounded: past <see cref="Capacity"/> entries the older half (by timestamp) is forgotten. Forgetting
/// is always safe, because a client with no remembered write on a shard reads there as Strong (it waits for the log's end,
/// which is at or past every write it made); it only costs that client a wait. Without the bound a node would keep one
/// entry for every client that ever wrote through it, for as long as it runs.</summary>
internal sealed class SessionWrites(int capacity = SessionWrites.DefaultCapacity)
{
    /// <summary>Entries kept before the older half is forgotten: 64k clients x shards, a few MB.</summary>
    public const int DefaultCapacity = 65_536;

    private readonly ConcurrentDictionary<string, long> _writes = new(StringComparer.Ordinal);
    private readonly Lock _trim = new();
    private int _count;

    /// <summary>The most entries kept at once (a trim brings them to half of it or below).</summary>
    public int Capacity { get; } = capacity > 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "at least 2");

    /// <summary>Entries now (for tests and status).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Records that <paramref name="client"/>'s write on <paramref name="shardKey"/> answered timestamp
    /// <paramref name="timestamp"/>; keeps the largest seen.</summary>
    public void Record(string client, string shardKey, long timestamp)
    {
        var key = Key(client, shardKey);
        if (_writes.TryAdd(key, timestamp))
        {
            if (Interlocked.Increment(ref _count) > Capacity)
            {
                Trim();
            }

            return;
        }

        _writes.AddOrUpdate(key, timestamp, (_, old) => Math.Max(old, timestamp));
    }

    /// <summary>The client's last remembered write timestamp on the shard.</summary>
    public bool TryGet(string client, string shardKey, out long timestamp) => _writes.TryGetValue(Key(client, shardKey), out timestamp);

    private void Trim()
    {
        lock (_trim)
        {
            if (Volatile.Read(ref _count) <= Capacity)
            {
                return;
            }

            var stamps = _writes.Values.ToArray();
            Array.Sort(stamps);
            var cut = stamps[stamps.Length / 2];
            foreach (var entry in _writes)
            {
                if (entry.Value <= cut)
                {
                    _writes.TryRemove(entry);
                }
            }

            // Recounted rather than decremented: a write racing the trim (its key removed between its TryAdd and its
            // update, which then adds it back uncounted) would otherwise let the count drift below the entries held.
            Volatile.Write(ref _count, _writes.Count);
        }
    }

    private static string Key(string client, string shardKey) => $"{client}|{shardKey}";
}
