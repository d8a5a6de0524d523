using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>The collection's time zone on a node that splits writes over several shards: TIMESTAMPTZ text without an
/// offset is read by the node (to check and route the rows) and sent on as instants, so the node reads it in the
/// collection's <c>timezone</c>, as the shard's own server would have.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The most collections whose schema a node keeps at once.</summary>
    private const int MaxSchemas = 4096;

    /// <summary>The gRPC calls that change what a node keeps of shard 0's answers: a collection's schema or properties
    /// (its time zone among them), or an index (the metric a search naming none merges in, <see cref="_indexMetrics"/>).</summary>
    private static readonly HashSet<string> SchemaChanges = new(StringComparer.Ordinal)
    {
        "AlterCollection", "AlterCollectionField", "AddCollectionField", "AlterCollectionSchema", "CreateIndex", "DropIndex",
    };

    /// <summary>The REST paths that change a collection's schema or properties, or an index.</summary>
    private static readonly HashSet<string> RestSchemaChanges = new(StringComparer.Ordinal)
    {
        "/collections/alter_properties", "/collections/drop_properties", "/collections/fields/add", "/indexes/create", "/indexes/drop",
        "/collections/fields/alter_properties",
    };

    /// <summary>The schema and time zone of each collection of several shards, as shard 0 last described it, with the
    /// catalog revision of the collection's key when it was asked (<see cref="CollectionCatalog.RevisionOf"/>): a write
    /// or search that splits over the shards reads it here instead of asking shard 0 each time, while the revision
    /// stands. Every change of the schema through any node moves the revision on (<see cref="SchemaChangedAsync"/>);
    /// writes read the catalog's current revision before they come here, reads the one the watch delivered.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ulong Revision, EngineSchema Schema, TimeZoneInfo? Zone)> _schemas = new(StringComparer.Ordinal);

    private long _schemaLookups;

    /// <summary>How many times this node asked a shard 0 for a collection's schema (tests count them).</summary>
    internal long SchemaLookups => Interlocked.Read(ref _schemaLookups);

    /// <summary>The engine schema and <c>timezone</c> of the collection as shard 0 describes it (null zone for UTC), or
    /// shard 0's refusal in <paramref name="method"/>'s response.</summary>
    private async Task<(EngineSchema? Schema, TimeZoneInfo? Zone, byte[]? Refused)> DescribedAsync(MethodDescriptor method, string database, string collection, CancellationToken ct)
    {
        // The revision is taken before shard 0 is asked: a change that lands meanwhile moves the catalog's revision on,
        // so what is kept under the older one is asked for again at the next call.
        var key = ShardKeys.Of(database, collection);
        var revision = node.Catalog.RevisionOf(database, collection);
        if (revision > 0 && _schemas.TryGetValue(key, out var kept) && kept.Revision == revision)
        {
            return (kept.Schema, kept.Zone, null);
        }

        Interlocked.Increment(ref _schemaLookups);
        var describe = MilvusService.Descriptor.FindMethodByName("DescribeCollection");
        var answer = DescribeCollectionResponse.Parser.ParseFrom(await InvokeAsync(ShardKeys.Of(database, collection), describe,
            new DescribeCollectionRequest { DbName = database, CollectionName = collection }.ToByteArray(), database, ct).ConfigureAwait(false));
        if (!IsOk(answer.Status))
        {
            return (null, null, StatusAnswer(method, answer.Status.Code, answer.Status.Reason, answer.Status.Retriable));
        }

        // A zone the shard described was checked when it was set; one this node cannot find would be refused by the reads.
        var zone = answer.Properties.FirstOrDefault(p => p.Key == Timestamptz.TimezoneProperty) is { } named
            ? Timestamptz.FindZone(named.Value, out _)
            : null;
        var schema = SchemaConversion.FromProto(answer.Schema.ToByteString(), collection);
        if (revision > 0)
        {
            if (_schemas.Count >= MaxSchemas)
            {
                // Collections dropped through other nodes leave their entries here; a node serving this many at once
                // only asks shard 0 again.
                _schemas.Clear();
            }

            _schemas[key] = (revision, schema, zone);
        }

        return (schema, zone, null);
    }

    /// <summary>Forgets the schema kept for <paramref name="collection"/> (dropped through this node).</summary>
    private void ForgetSchema(string database, string collection) => _schemas.TryRemove(ShardKeys.Of(database, collection), out _);

    /// <summary>After a call that may have changed the collection's schema or properties on some of its shards (whether
    /// every shard took it or not): moves the catalog's revision of the collection on, so every node reads its schema
    /// from shard 0 again (<see cref="DescribedAsync"/>).</summary>
    private async Task SchemaChangedAsync(string database, string collection, CancellationToken ct)
    {
        ForgetSchema(database, collection);
        await node.Catalog.TouchAsync(database, collection, ct).ConfigureAwait(false);
    }
}
