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

        var nq = (int)answers.Max(r => r.Results?.NumQueries ?? 0);
        var rounds = new GroupRounds(nq, Quiver.Search.HybridSearch.LargerIsCloser(metric));

        // Round 1: every shard's groups per query, and the collection's chosen groups.
        var hits = ShardMerge.Hits(answers, nq);
        for (var s = 0; s < shards; s++)
        {
            var values = GroupValues(answers[s]);
            for (var q = 0; q < nq; q++)
            {
                rounds.Add(q, s, hits[s][q].Select(h => (h.Score, h.Key, values[h.At], h.At)), first: true);
            }
        }

        // Round 2: each shard, per query, for the chosen groups it did not answer.
        var asks = rounds.Missing(want, shards);
        var second = await Task.WhenAll(asks.Select(a => ReadShardAsync(database, collection, a.Shard, method,
            OneQuery(perShard, a.Query, nq, groupField, a.Groups).ToByteArray(), ct))).ConfigureAwait(false);
        for (var i = 0; i < asks.Count; i++)
        {
            var answer = SearchResults.Parser.ParseFrom(second[i]);
            if (!IsOk(answer.Status))
            {
                return (null, answer.ToByteArray(), default);
            }

            var values = GroupValues(answer);
            rounds.Add(asks[i].Query, answers.Count, ShardMerge.Hits([answer], 1)[0][0].Select(h => (h.Score, h.Key, values[h.At], h.At)), first: false);
            answers.Add(answer);
        }

        var picked = rounds.Window(settings.Offset, settings.GroupSize);
        var merged = ShardMerge.Pick(answers, picked, settings.TopK, settings.RoundDecimal);
        merged.Results.GroupByFieldValue = ShardMerge.PickColumn(answers, picked, a => a.Results?.GroupByFieldValue);
        return (merged, null, metric);
    }

    /// <summary>The request for query <paramref name="q"/> alone, its filter narrowed to the group values
    /// <paramref name="groups"/>, for as many groups as it names.</summary>
    private static MilvusSearch OneQuery(MilvusSearch request, int q, int nq, FieldSchema field, IReadOnlyList<object?> groups)
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

        one.Dsl = NarrowedFilter(request.Dsl, field.Name, groups);
        one.DslType = Protocol.Common.DslType.BoolExprV1;
        var pairs = one.SearchParams.Where(p => p.Key != "topk").ToList();
        one.SearchParams.Clear();
        one.SearchParams.AddRange(pairs);
        one.SearchParams.Add(new Protocol.Common.KeyValuePair { Key = "topk", Value = groups.Count.ToString(CultureInfo.InvariantCulture) });
        return one;
    }

    /// <summary><paramref name="filter"/> (none when blank) narrowed to rows whose <paramref name="field"/> holds one of
    /// <paramref name="groups"/> (null: no value).</summary>
    private static string NarrowedFilter(string? filter, string field, IReadOnlyList<object?> groups)
    {
        var listed = groups.Where(g => g is not null).Select(g => GroupLiteral(g!)).ToList();
        var parts = new List<string>();
        if (listed.Count > 0)
        {
            parts.Add($"{field} in [{string.Join(", ", listed)}]");
        }

        if (groups.Any(g => g is null))
        {
            parts.Add($"{field} is null");
        }

        var narrowed = string.Join(" or ", parts);
        return string.IsNullOrWhiteSpace(filter) ? narrowed : $"({filter}) and ({narrowed})";
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

    /// <summary>The bookkeeping of a grouped search's two rounds over the shards, whatever the transport: hits are named by
    /// the answer they come from and their place in it. Round 1 adds every shard's groups (<see cref="Add"/> with
    /// <c>first</c>); <see cref="Missing"/> chooses each query's first groups (ranked by their best hit, ties by key) and
    /// names, per shard and query, the chosen groups that shard did not answer; round 2 adds those answers' members;
    /// <see cref="Window"/> keeps the chosen groups after the offset with their best members.</summary>
    private sealed class GroupRounds(int nq, bool larger)
    {
        private readonly Comparison<(float Score, object Key, int Answer, int At)> _byRank = (a, b) =>
        {
            var byScore = larger ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score);
            return byScore != 0 ? byScore : ShardMerge.CompareKeys(a.Key, b.Key);
        };

        private readonly Dictionary<GroupKey, List<(float Score, object Key, int Answer, int At)>>[] _members =
            [.. Enumerable.Range(0, nq).Select(_ => new Dictionary<GroupKey, List<(float, object, int, int)>>())];

        private readonly Dictionary<GroupKey, HashSet<int>>[] _answeredBy = [.. Enumerable.Range(0, nq).Select(_ => new Dictionary<GroupKey, HashSet<int>>())];

        private readonly List<GroupKey>[] _chosen = new List<GroupKey>[nq];

        /// <summary>Query <paramref name="q"/>'s hits of answer <paramref name="answer"/>: in round 1 (the answer is then the
        /// shard's number) every group they hold; in round 2 the members of groups round 1 saw.</summary>
        public void Add(int q, int answer, IEnumerable<(float Score, object Key, object? Group, int At)> hits, bool first)
        {
            foreach (var (score, key, value, at) in hits)
            {
                var group = new GroupKey(value);
                if (first)
                {
                    (_members[q].TryGetValue(group, out var list) ? list : _members[q][group] = []).Add((score, key, answer, at));
                    (_answeredBy[q].TryGetValue(group, out var set) ? set : _answeredBy[q][group] = []).Add(answer);
                }
                else if (_members[q].TryGetValue(group, out var list))
                {
                    list.Add((score, key, answer, at));
                }
            }
        }

        /// <summary>Chooses each query's first <paramref name="want"/> groups and names the asks of round 2.</summary>
        public List<(int Shard, int Query, List<object?> Groups)> Missing(int want, int shards)
        {
            var asks = new List<(int Shard, int Query, List<object?> Groups)>();
            for (var q = 0; q < _chosen.Length; q++)
            {
                foreach (var list in _members[q].Values)
                {
                    list.Sort(_byRank);
                }

                _chosen[q] = [.. _members[q].OrderBy(g => g.Value[0], Comparer<(float, object, int, int)>.Create(_byRank)).Select(g => g.Key).Take(want)];
                for (var s = 0; s < shards; s++)
                {
                    var missing = _chosen[q].Where(g => !_answeredBy[q][g].Contains(s)).Select(g => g.Value).ToList();
                    if (missing.Count > 0)
                    {
                        asks.Add((s, q, missing));
                    }
                }
            }

            return asks;
        }

        /// <summary>Per query, the chosen groups after <paramref name="offset"/>, each with its best <paramref name="size"/>
        /// members in rank order.</summary>
        public List<IReadOnlyList<(float Score, object Key, int Answer, int At)>> Window(int offset, int size)
        {
            var picked = new List<IReadOnlyList<(float Score, object Key, int Answer, int At)>>(_chosen.Length);
            for (var q = 0; q < _chosen.Length; q++)
            {
                var window = new List<(float Score, object Key, int Answer, int At)>();
                foreach (var group in _chosen[q].Skip(offset))
                {
                    var list = _members[q][group];
                    list.Sort(_byRank);
                    window.AddRange(list.Take(size));
                }

                picked.Add(window);
            }

            return picked;
        }
    }
}
