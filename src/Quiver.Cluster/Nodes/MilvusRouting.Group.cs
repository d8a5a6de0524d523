using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus.Data;
using Quiver.Wire;
using MilvusSearch = global::Quiver.Protocol.Milvus.SearchRequest;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>A search with <c>group_by_field</c> on a collection with several shards, exact in two rounds. The engine
/// ranks groups by their best hit and keeps the first offset + limit groups with at most <c>group_size</c> hits each.
/// Round 1 asks every shard for its own first offset + limit groups: a group among the collection's first offset + limit
/// has its best hit on some shard, where fewer than offset + limit groups rank above it, so the union of the shards'
/// groups holds every chosen group and ranks them exactly. A chosen group's best members may also lie on shards that did
/// not rank it that high: round 2 asks each such shard, per query, for exactly the chosen groups it did not answer (the
/// filter narrowed to those group values), and the members of each group are the best <c>group_size</c> of what the
/// shards answered for it.</summary>
internal sealed partial class MilvusRouting
{
    private async Task<(SearchResults? Merged, byte[]? Answer, MetricType Metric)> GroupedMergedAsync(MethodDescriptor method, MilvusSearch parsed, string database,
        string collection, int shards, EngineSchema schema, SearchSettings settings, MetricType metric, CancellationToken ct)
    {
        var groupField = schema.Find(settings.GroupByField!);
        if (groupField is null || settings.GroupSize < 1)
        {
            // The shard's own refusal of the field or the size, word for word.
            return (null, await InvokeAsync(ShardKeys.Of(database, collection), method, parsed.ToByteArray(), database, ct).ConfigureAwait(false), default);
        }

        var want = settings.TopK + settings.Offset;
        var perShard = parsed.Clone();
        perShard.SearchParams.Clear();
        perShard.SearchParams.AddRange(Window(parsed.SearchParams, "topk", want, ["topk", "limit", "offset", "round_decimal"]));
        var first = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => ReadShardAsync(database, collection, s, method, perShard.ToByteArray(), ct))).ConfigureAwait(false);
        var answers = first.Select(SearchResults.Parser.ParseFrom).ToList();
        if (answers.FirstOrDefault(r => !IsOk(r.Status)) is { } failed)
        {
            return (null, failed.ToByteArray(), default);
        }

        var larger = Quiver.Search.HybridSearch.LargerIsCloser(metric);
        var nq = (int)answers.Max(r => r.Results?.NumQueries ?? 0);
        Comparison<(float Score, object Key, int Answer, int At)> byRank = (a, b) =>
        {
            var byScore = larger ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score);
            return byScore != 0 ? byScore : ShardMerge.CompareKeys(a.Key, b.Key);
        };

        // Round 1: every shard's groups per query, and the collection's chosen groups.
        var hits = ShardMerge.Hits(answers, nq);
        var values = answers.Select(GroupValues).ToList();
        var members = new List<Dictionary<GroupKey, List<(float Score, object Key, int Answer, int At)>>>(nq);
        var chosen = new List<List<GroupKey>>(nq);
        var answeredBy = new List<Dictionary<GroupKey, HashSet<int>>>(nq);
        for (var q = 0; q < nq; q++)
        {
            var groups = new Dictionary<GroupKey, List<(float, object, int, int)>>();
            var by = new Dictionary<GroupKey, HashSet<int>>();
            for (var s = 0; s < shards; s++)
            {
                foreach (var (score, key, at) in hits[s][q])
                {
                    var group = new GroupKey(values[s][at]);
                    (groups.TryGetValue(group, out var list) ? list : groups[group] = []).Add((score, key, s, at));
                    (by.TryGetValue(group, out var set) ? set : by[group] = []).Add(s);
                }
            }

            foreach (var list in groups.Values)
            {
                list.Sort(byRank);
            }

            var ranked = groups.OrderBy(g => g.Value[0], Comparer<(float, object, int, int)>.Create(byRank)).Select(g => g.Key).Take(want).ToList();
            members.Add(groups);
            chosen.Add(ranked);
            answeredBy.Add(by);
        }

        // Round 2: each shard, per query, for the chosen groups it did not answer.
        var asks = new List<(int Shard, int Query, MilvusSearch Request)>();
        for (var q = 0; q < nq; q++)
        {
            for (var s = 0; s < shards; s++)
            {
                var missing = chosen[q].Where(g => !answeredBy[q][g].Contains(s)).ToList();
                if (missing.Count > 0)
                {
                    asks.Add((s, q, OneQuery(perShard, q, nq, groupField, missing)));
                }
            }
        }

        var second = await Task.WhenAll(asks.Select(a => ReadShardAsync(database, collection, a.Shard, method, a.Request.ToByteArray(), ct))).ConfigureAwait(false);
        for (var i = 0; i < asks.Count; i++)
        {
            var answer = SearchResults.Parser.ParseFrom(second[i]);
            if (!IsOk(answer.Status))
            {
                return (null, answer.ToByteArray(), default);
            }

            var index = answers.Count;
            answers.Add(answer);
            var groupValues = GroupValues(answer);
            foreach (var (score, key, at) in ShardMerge.Hits([answer], 1)[0][0])
            {
                var group = new GroupKey(groupValues[at]);
                if (members[asks[i].Query].TryGetValue(group, out var list))
                {
                    list.Add((score, key, index, at));
                }
            }
        }

        var picked = new List<IReadOnlyList<(float Score, object Key, int Answer, int At)>>(nq);
        for (var q = 0; q < nq; q++)
        {
            var window = new List<(float Score, object Key, int Answer, int At)>();
            foreach (var group in chosen[q].Skip(settings.Offset))
            {
                var list = members[q][group];
                list.Sort(byRank);
                window.AddRange(list.Take(settings.GroupSize));
            }

            picked.Add(window);
        }

        var merged = ShardMerge.Pick(answers, picked, settings.TopK, settings.RoundDecimal);
        merged.Results.GroupByFieldValue = ShardMerge.PickColumn(answers, picked, a => a.Results?.GroupByFieldValue);
        return (merged, null, metric);
    }

    /// <summary>The request for query <paramref name="q"/> alone, its filter narrowed to the group values
    /// <paramref name="groups"/>, for as many groups as it names.</summary>
    private static MilvusSearch OneQuery(MilvusSearch request, int q, int nq, FieldSchema field, List<GroupKey> groups)
    {
        var one = request.Clone();
        if (nq > 1)
        {
            var placeholders = Protocol.Common.PlaceholderGroup.Parser.ParseFrom(request.PlaceholderGroup);
            foreach (var holder in placeholders.Placeholders)
            {
                var value = holder.Values[q];
                holder.Values.Clear();
                holder.Values.Add(value);
            }

            one.PlaceholderGroup = placeholders.ToByteString();
            one.Nq = 1;
        }

        var listed = groups.Where(g => g.Value is not null).Select(g => GroupLiteral(g.Value!)).ToList();
        var parts = new List<string>();
        if (listed.Count > 0)
        {
            parts.Add($"{field.Name} in [{string.Join(", ", listed)}]");
        }

        if (groups.Any(g => g.Value is null))
        {
            parts.Add($"{field.Name} is null");
        }

        var narrowed = string.Join(" or ", parts);
        one.Dsl = string.IsNullOrWhiteSpace(request.Dsl) ? narrowed : $"({request.Dsl}) and ({narrowed})";
        one.DslType = Protocol.Common.DslType.BoolExprV1;
        var pairs = one.SearchParams.Where(p => p.Key != "topk").ToList();
        one.SearchParams.Clear();
        one.SearchParams.AddRange(pairs);
        one.SearchParams.Add(new Protocol.Common.KeyValuePair { Key = "topk", Value = groups.Count.ToString(CultureInfo.InvariantCulture) });
        return one;
    }

    /// <summary>A group value as a literal of Milvus's filter language.</summary>
    private static string GroupLiteral(object value) => value switch
    {
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    /// <summary>The group value of every hit of <paramref name="answer"/> (null for a null value).</summary>
    private static object?[] GroupValues(SearchResults answer)
    {
        var data = answer.Results;
        var count = data is null ? 0 : PrimaryKeys.FromIds(data.Ids).Count;
        if (data?.GroupByFieldValue is null || count == 0)
        {
            return new object?[count];
        }

        var column = FieldDataReader.ReadResult([data.GroupByFieldValue], count).Batch.Columns[0];
        var values = new object?[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = column.Nulls is { } nulls && nulls[i] ? null
                : column.Longs is { } longs ? longs[i]
                : column.Strings is { } strings ? strings[i]
                : column.Bools is { } bools ? bools[i]
                : null;
        }

        return values;
    }

    /// <summary>A group value as a dictionary key (null is a group of its own).</summary>
    private readonly record struct GroupKey(object? Value);
}
