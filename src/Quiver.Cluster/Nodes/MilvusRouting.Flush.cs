using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary><c>Flush</c> names its collections in a list (<c>collection_names</c>) rather than one
/// <c>collection_name</c>, so it is routed name by name: each name goes, alone, to every shard of its collection (an
/// alias to its collection's shards; a name the catalog does not hold to the database's catalog shard, which refuses
/// it as the standalone server does), in the list's order, and the shards' answers are merged into one response keyed
/// by the names as given. The first refusal is the answer (the names before it are flushed, as on a single node).</summary>
internal sealed partial class MilvusRouting
{
    private async Task<byte[]> FlushAsync(MethodDescriptor method, FlushRequest parsed, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var database = Database(parsed, context);
        var merged = new FlushResponse { Status = new Protocol.Common.Status(), DbName = database };
        foreach (var name in parsed.CollectionNames)
        {
            var valid = ShardKeys.IsValidName(database) && ShardKeys.IsValidName(name);
            var collection = name;
            var (shards, id) = valid ? await node.Catalog.EntryAsync(database, name, ct, fresh: true).ConfigureAwait(false) : (0, name);
            if (valid && shards == 0 && await node.Catalog.AliasTargetAsync(database, name, ct).ConfigureAwait(false) is { } aliased)
            {
                collection = aliased;
                (shards, id) = await node.Catalog.EntryAsync(database, collection, ct, fresh: true).ConfigureAwait(false);
            }

            if (valid && shards == 0 && await MissingDatabaseAsync(method, database, ct).ConfigureAwait(false) is { } noDatabase)
            {
                return noDatabase;
            }

            var one = new FlushRequest { Base = parsed.Base, DbName = database, CollectionNames = { name } }.ToByteArray();
            var keys = shards == 0
                ? [ShardKeys.Of(valid ? database : "default", ShardKeys.CatalogShard)]
                : Enumerable.Range(0, shards).Select(s => ShardKeys.Of(database, id, s)).ToArray();
            var answers = await Task.WhenAll(keys.Select(k => InvokeAsync(k, method, one, database, ct))).ConfigureAwait(false);
            var each = answers.Select(FlushResponse.Parser.ParseFrom).ToList();
            if (each.FirstOrDefault(a => !IsOk(a.Status)) is { } failed)
            {
                return failed.ToByteArray();
            }

            var segments = new Protocol.Schema.LongArray();
            var flushed = new Protocol.Schema.LongArray();
            foreach (var answer in each)
            {
                segments.Data.AddRange(answer.CollSegIDs.TryGetValue(name, out var s) ? s.Data : []);
                flushed.Data.AddRange(answer.FlushCollSegIDs.TryGetValue(name, out var f) ? f.Data : []);
                foreach (var (channel, position) in answer.ChannelCps)
                {
                    merged.ChannelCps[channel] = position;
                }
            }

            merged.CollSegIDs[name] = segments;
            merged.FlushCollSegIDs[name] = flushed;
            merged.CollSealTimes[name] = each.Max(a => a.CollSealTimes.TryGetValue(name, out var t) ? t : 0);
            merged.CollFlushTs[name] = each.Max(a => a.CollFlushTs.TryGetValue(name, out var t) ? t : 0);
        }

        return merged.ToByteArray();
    }
}
