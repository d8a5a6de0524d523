namespace Quiver.Cluster.Nodes;

/// <summary>The metric a search of a collection of several shards merges in when the request names none: the metric of
/// the field's index, kept per revision of the collection's catalog key instead of asked of shard 0 at every search.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The most (collection, field) metrics a node keeps at once.</summary>
    private const int MaxIndexMetrics = 4096;

    /// <summary>The metric of each field's index (or the field's default when it had none), by shard-0 key and field
    /// name, with the catalog revision of the collection's key read from the leader before shard 0 was asked
    /// (<see cref="CollectionCatalog.CurrentRevisionAsync"/>). Every create or drop of an index through any node moves the
    /// revision on after its shards took it (<see cref="SchemaChanges"/>), and a collection dropped and created again has
    /// a key of a later revision, so a metric kept under the revision the leader holds now is the index's. Reads take the
    /// revision from the leader, not from the catalog's watch: a search through this node right after another node's
    /// index change was acknowledged must not merge IP scores as L2 distances (NOTE33: a cache of the watched revision
    /// did so until the watch delivered).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Collection, string Field), (ulong Revision, MetricType Metric)> _indexMetrics = new();

    private long _indexMetricLookups;

    /// <summary>How many times this node asked a shard 0 for an index's metric (tests count them).</summary>
    internal long IndexMetricLookups => Interlocked.Read(ref _indexMetricLookups);

    /// <summary>Keeps <paramref name="metric"/> under <paramref name="revision"/> (nothing for revision 0: the catalog
    /// holds no such collection, and shard 0's answer was its refusal's default).</summary>
    private void KeepIndexMetric((string Collection, string Field) key, ulong revision, MetricType metric)
    {
        if (revision == 0)
        {
            return;
        }

        if (_indexMetrics.Count >= MaxIndexMetrics)
        {
            // Collections dropped through other nodes leave their entries here; a node serving this many at once only
            // asks shard 0 again.
            _indexMetrics.Clear();
        }

        _indexMetrics[key] = (revision, metric);
    }
}
