using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary><c>HybridSearch</c> on a collection with several shards, as the single engine runs it: each of its search
/// requests is a search of its own over every shard, merged into the collection's global top-(its limit) per query
/// exactly as a plain search is; the node then fuses those global lists with the request's ranker (RRF by global rank,
/// or weighted by each hit's score, normalized as the engine normalizes), by the engine's own fusion
/// (<see cref="Quiver.Search.HybridSearch.Fusion"/>), ranks by fused score (ties by primary key) and answers the window
/// of <c>rank_params</c> with the output fields the searches carried. With <c>group_by_field</c> each search is a
/// grouped search over the shards (exact in two rounds, MilvusRouting.Group.cs) and the fused hits are grouped as the
/// engine groups them (MilvusRouting.HybridGroup.cs).</summary>
internal sealed partial class MilvusRouting
{
    private async Task<byte[]> HybridShardsAsync(MethodDescriptor method, byte[] request, HybridSearchRequest parsed, string database, string collection, int shards, CancellationToken ct)
    {
        if (parsed.Requests.Count is 0 or > Quiver.HybridRequest.MaxRequests)
        {
            // The shard's own refusal, word for word.
            return await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false);
        }

        var rank = MilvusGrpcService.HybridRankParams.Parse(parsed.RankParams, parsed.FunctionScore);
        var (schema, refused) = await SchemaAsync(method, database, collection, ct).ConfigureAwait(false);
        if (schema is null)
        {
            return refused!;
        }

        var grouping = HybridGrouping(parsed, rank);
        if (grouping is { } g && !Groupable(schema, g))
        {
            // The shard's own refusal of the group field or size, word for word.
            return await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false);
        }

        var search = MilvusService.Descriptor.FindMethodByName("Search");
        var answers = new List<SearchResults>(parsed.Requests.Count);
        var metrics = new MetricType[parsed.Requests.Count];
        for (var i = 0; i < parsed.Requests.Count; i++)
        {
            // Offset, rounding, partitions and output fields belong to the hybrid request, as on a single node.
            var one = parsed.Requests[i].Clone();
            one.DbName = database;
            one.CollectionName = collection;
            one.PartitionNames.Clear();
            one.PartitionNames.AddRange(parsed.PartitionNames);
            one.OutputFields.Clear();
            one.OutputFields.AddRange(parsed.OutputFields);
            one.ConsistencyLevel = parsed.ConsistencyLevel;
            one.UseDefaultConsistency = parsed.UseDefaultConsistency;
            one.GuaranteeTimestamp = parsed.GuaranteeTimestamp;
            var pairs = one.SearchParams.Where(p => p.Key is not ("offset" or "round_decimal")).ToList();
            one.SearchParams.Clear();
            one.SearchParams.AddRange(grouping is { } grouped ? GroupedPairs(pairs, grouped) : pairs);
            var (merged, answer, metric) = await SearchMergedAsync(search, one, one.ToByteArray(), database, collection, shards, schema, ct).ConfigureAwait(false);
            if (answer is not null)
            {
                // A refusal answers as a SearchResults, the hybrid search's own response type.
                return answer;
            }

            answers.Add(merged!);
            metrics[i] = metric;
        }

        var counts = answers.Select(a => (int)(a.Results?.NumQueries ?? 0)).Distinct().ToList();
        if (counts.Count != 1)
        {
            // Requests with different numbers of queries: the shard's own refusal.
            return await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false);
        }

        var nq = counts[0];
        var fuse = Quiver.Search.HybridSearch.Fusion.For(rank.Ranker, metrics);
        var hits = ShardMerge.Hits(answers, nq);
        var groupValues = grouping is null ? null : answers.Select(GroupValues).ToList();
        var picked = new List<IReadOnlyList<(float Score, object Key, int Answer, int At)>>(nq);
        for (var q = 0; q < nq; q++)
        {
            var fused = new Dictionary<object, (float Score, int Answer, int At)>();
            for (var i = 0; i < answers.Count; i++)
            {
                var list = hits[i][q];
                for (var r = 0; r < list.Count; r++)
                {
                    var (score, key, at) = list[r];
                    var part = fuse.Contribution(i, r, score);
                    fused[key] = fused.TryGetValue(key, out var sum) ? (sum.Score + part, sum.Answer, sum.At) : (part, i, at);
                }
            }

            var ranked = fused.Select(f => (f.Value.Score, f.Key, f.Value.Answer, f.Value.At)).ToList();
            ranked.Sort((a, b) =>
            {
                var byScore = fuse.Descending ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score);
                return byScore != 0 ? byScore : ShardMerge.CompareKeys(a.Key, b.Key);
            });
            picked.Add(grouping is { } grouped
                ? FusedGroups(ranked.Select(h => (h.Score, h.Key, groupValues![h.Answer][h.At], h)), grouped.Size, rank.Offset, rank.Limit, fuse.Descending)
                : [.. ranked.Skip(rank.Offset).Take(rank.Limit)]);
        }

        var result = ShardMerge.Pick(answers, picked, rank.Limit, rank.RoundDecimal);
        if (grouping is not null)
        {
            result.Results.GroupByFieldValue = ShardMerge.PickColumn(answers, picked, a => a.Results?.GroupByFieldValue);
        }

        result.CollectionName = parsed.CollectionName;
        return result.ToByteArray();
    }
}
