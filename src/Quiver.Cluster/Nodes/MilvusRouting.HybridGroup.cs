using System.Globalization;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;
using EngineSchema = Quiver.CollectionSchema;
using ProtoKeyValuePair = global::Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Cluster.Nodes;

/// <summary>A hybrid search with <c>group_by_field</c> on a collection with several shards, as the single engine runs
/// it: each of its searches is a grouped search (its own limit in groups, <c>group_size</c> hits each, offset 0), exact
/// over the shards in two rounds (MilvusRouting.Group.cs); a hit's rank in its search is its place in that grouped list;
/// the fused hits, best first, fill groups of at most <c>group_size</c> in the order they arrive, and the groups are
/// ranked by their best hit, then the larger group, then the smaller key of the best hit; the window of
/// <c>rank_params</c> is taken in groups. The group field and size are the standalone server's: <c>rank_params</c>'
/// when it names one, else those the Node SDK copies into every search request.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The group field and size of a hybrid search, or null when it does not group.</summary>
    private static (string Field, int Size)? HybridGrouping(HybridSearchRequest parsed, MilvusGrpcService.HybridRankParams rank)
    {
        if (rank.GroupByField is { } field)
        {
            return (field, rank.GroupSize);
        }

        string? named = null;
        var size = 1;
        foreach (var settings in parsed.Requests.Select(r => SearchParamsParser.ParseUncached(r.SearchParams)))
        {
            named ??= settings.GroupByField;
            size = settings.GroupByField is null ? size : settings.GroupSize;
        }

        return named is null ? null : (named, size);
    }

    /// <summary>Whether the engine groups by <paramref name="grouping"/>'s field with its size; a shard refuses anything else
    /// in the standalone server's words.</summary>
    private static bool Groupable(EngineSchema schema, (string Field, int Size) grouping) =>
        grouping.Size >= 1 && schema.Find(grouping.Field)?.DataType is DataType.Bool or DataType.Int8 or DataType.Int16 or DataType.Int32
            or DataType.Int64 or DataType.VarChar;

    /// <summary>A hybrid sub-search's params with the hybrid search's grouping in place of any it carried.</summary>
    private static List<ProtoKeyValuePair> GroupedPairs(List<ProtoKeyValuePair> pairs, (string Field, int Size) grouping)
    {
        var kept = Window(pairs, "group_by_field", grouping.Field, ["group_by_field", "group_size", "strict_group_size"]);
        kept.Add(new ProtoKeyValuePair { Key = "group_size", Value = grouping.Size.ToString(CultureInfo.InvariantCulture) });
        return kept;
    }

    /// <summary>Fused hits (best first: by score in the ranker's direction, ties by key) grouped as the engine groups a
    /// hybrid search's: groups of at most <paramref name="size"/> filled in arrival order, ranked by their best hit's
    /// score, then the larger group, then the smaller key of the best hit; <paramref name="limit"/> groups after
    /// <paramref name="offset"/>, their hits in order.</summary>
    private static List<T> FusedGroups<T>(IEnumerable<(float Score, object Key, object? Group, T Item)> ranked, int size, int offset, int limit, bool descending)
    {
        var groups = new List<List<(float Score, object Key, object? Group, T Item)>>();
        var byValue = new Dictionary<GroupKey, List<(float Score, object Key, object? Group, T Item)>>();
        foreach (var hit in ranked)
        {
            if (!byValue.TryGetValue(new GroupKey(hit.Group), out var members))
            {
                members = [];
                byValue[new GroupKey(hit.Group)] = members;
                groups.Add(members);
            }

            if (members.Count < size)
            {
                members.Add(hit);
            }
        }

        return [.. groups
            .OrderBy(m => m[0].Score, Comparer<float>.Create((a, b) => descending ? b.CompareTo(a) : a.CompareTo(b)))
            .ThenByDescending(m => m.Count)
            .ThenBy(m => m[0].Key, Comparer<object>.Create(ShardMerge.CompareKeys))
            .Skip(offset).Take(limit).SelectMany(m => m).Select(m => m.Item)];
    }
}
