using Quiver.Server.Milvus;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>The cluster-wide rate limit (<c>clusterRequestsPerSecondPerUser</c>, docs/cluster.md, "Security on a node"):
/// each node gives every user (every client address without authentication) its share of the cluster's rate, the rate
/// divided by the nodes the membership table shows active, read from this node's own copy of the table (no round trip
/// per call). A token bucket per caller, as the standalone gate's (burst of one second's worth of the share, at least
/// one call); when the live count changes the buckets start again, full, at the new share.
/// <para>What it guarantees: while N nodes are active and every node sees N, a user's calls accepted over T seconds,
/// summed over all nodes, are at most R x T plus N bursts of max(1, R / N), whichever nodes they go to; a user who calls
/// one node only gets R / N. Each change of the live count can add one burst per node, and nodes that briefly see
/// different counts (a join or a death not yet seen everywhere) give the shares of the counts they see.</para></summary>
internal sealed class ClusterRate(double perSecond, Func<int> liveNodes, TimeProvider? time = null)
{
    private readonly Lock _swap = new();

    /// <summary>The share in force: one object, so a reader never pairs one count with another count's limiter.</summary>
    private Share? _current;

    private sealed record Share(int Nodes, RateLimiter Limiter);

    /// <summary>The cluster's rate per user, per second; 0 is none.</summary>
    public double PerSecond => perSecond;

    /// <summary>Counts one call of <paramref name="caller"/>: null when it is within this node's share, else the refusal
    /// (docs/errors.md, <c>cluster-rate-limit</c>): Milvus's rate-limit code 8, retriable, naming the cluster's rate and
    /// the share.</summary>
    public MilvusException? Count(string caller)
    {
        if (perSecond <= 0)
        {
            return null;
        }

        var (nodes, limiter) = Current();
        return limiter.TryAcquire(caller) ? null : Refusal(perSecond, nodes);
    }

    /// <summary>The refusal of a call past the share of one of <paramref name="nodes"/> nodes.</summary>
    internal static MilvusException Refusal(double perSecond, int nodes) => new(MilvusCode.RateLimit, string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"rate limit exceeded: more than {perSecond} requests per second across the cluster ({perSecond / nodes:0.######} on each of {nodes} live nodes); retry later"), retriable: true);

    private Share Current()
    {
        var nodes = Math.Max(1, liveNodes());
        if (Volatile.Read(ref _current) is { } known && known.Nodes == nodes)
        {
            return known;
        }

        lock (_swap)
        {
            if (_current is not { } seen || seen.Nodes != nodes)
            {
                Volatile.Write(ref _current, new Share(nodes, new RateLimiter(perSecond / nodes, time: time)));
            }

            return _current!;
        }
    }
}
