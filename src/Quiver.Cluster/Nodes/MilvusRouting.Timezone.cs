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
    /// <summary>The engine schema and <c>timezone</c> of the collection as shard 0 describes it (null zone for UTC), or
    /// shard 0's refusal in <paramref name="method"/>'s response.</summary>
    private async Task<(EngineSchema? Schema, TimeZoneInfo? Zone, byte[]? Refused)> DescribedAsync(MethodDescriptor method, string database, string collection, CancellationToken ct)
    {
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
        return (SchemaConversion.FromProto(answer.Schema.ToByteString(), collection), zone, null);
    }
}
