using System.Collections.Concurrent;
using System.Diagnostics;

namespace Quiver.Cluster.Nodes;

/// <summary>The replica count of each collection a router read or wrote last, and when, so that a read does not cost a KV
/// read. Another node's change is seen within <see cref="Ttl"/>; until then reads go where they went before: to the
/// shard (always current) or to replicas, and a read whose replicas are gone asks again with <c>fresh</c>.</summary>
internal sealed class ReplicaCounts(NodeContext node)
{
    /// <summary>How long a node trusts the replica count it last read for a collection before reading KV again.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (int Count, long At)> _counts = new(StringComparer.Ordinal);

    /// <summary>The collection's replica count: KV's, or this router's last reading if younger than <see cref="Ttl"/>
    /// and <paramref name="fresh"/> is false.</summary>
    public async Task<int> GetAsync(string key, bool fresh, CancellationToken ct)
    {
        if (!fresh && _counts.TryGetValue(key, out var known) && Stopwatch.GetElapsedTime(known.At) < Ttl)
        {
            return known.Count;
        }

        var count = await ReplicaRecords.CountAsync(node, key, ct).ConfigureAwait(false);
        _counts[key] = (count, Stopwatch.GetTimestamp());
        return count;
    }

    /// <summary>Records a count this router just made (a load placed replicas, a release closed them).</summary>
    public void Set(string key, int count) => _counts[key] = (count, Stopwatch.GetTimestamp());

    /// <summary>Forgets the collection's count: the next read asks KV.</summary>
    public void Forget(string key) => _counts.TryRemove(key, out _);
}
