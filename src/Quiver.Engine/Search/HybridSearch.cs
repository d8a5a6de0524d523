using System.Globalization;
using Quiver.Shards;

namespace Quiver.Search;

/// <summary>
/// Hybrid search: every request of a <see cref="HybridRequest"/> runs through the per-field search
/// (<see cref="SearchExecutor.SearchInView"/>, so any vector type the engine searches takes part) over one read view, its
/// hits are fused per query by the ranker, and output fields are read only for the fused hits returned. Scores and
/// ordering follow Milvus's rerankers (single-precision sums, equal scores ordered by primary key, groups ordered by
/// their best hit, then the larger group, then the smaller first key).
/// </summary>
internal static class HybridSearch
{
    /// <summary>Whether larger scores are closer under <paramref name="metric"/>: the engine's own convention (its heap
    /// keys are scores for distance metrics and negated scores for similarity metrics).</summary>
    public static bool LargerIsCloser(MetricType metric) => FlatSearch.ScoreFromKey(metric, 1f) < 0;

    /// <summary>Runs <paramref name="request"/> and hands the fused hits (per query, best first, offset and limit
    /// applied) to <paramref name="materialize"/> with the view they refer to.</summary>
    public static T Run<T>(Shard shard, HybridRequest request, CancellationToken cancellationToken,
        Func<ReadView, Projection, List<List<(float Score, int Segment, int Row)>>, T> materialize)
    {
        Validate(request);
        var schema = shard.Schema;
        int? groupIndex = null;
        if (request.GroupByField is { } g)
        {
            groupIndex = schema.IndexOf(g);
            if (groupIndex < 0)
            {
                Throw.Invalid($"hybrid search: group-by field '{g}' does not exist");
            }
        }

        var zone = Timestamptz.Resolve(request.Timezone, shard.Meta.Properties);
        var projection = Projection.Resolve(schema, request.OutputFields, zone: zone);
        var filters = request.Requests.Select(r => shard.Plans.Filter(r.Filter, schema, r.FilterParams, zone)).ToList();
        using var view = shard.AcquireView(Shards.PartitionKeys.HybridReadScope(shard.Meta, request.Partitions, filters));
        var count = request.Requests.Count;
        var metrics = new MetricType[count];
        var hits = new List<List<(float Score, int Segment, int Row)>>[count];
        for (var i = 0; i < count; i++)
        {
            var sub = request.Requests[i] with
            {
                Partitions = request.Partitions,
                GroupByField = request.GroupByField,
                GroupSize = request.GroupSize,
                Timezone = request.Timezone,
            };
            try
            {
                hits[i] = SearchExecutor.SearchInView(shard, view, sub, cancellationToken);
            }
            catch (QuiverException e) when (e.GetType() == typeof(QuiverException) && e.Code == QuiverErrorCode.InvalidArgument)
            {
                throw new QuiverException(e.Code, $"hybrid search: request {i}: {e.Message}", e);
            }

            metrics[i] = (sub.AnnsField is { } name ? schema.Find(name)! : schema.Fields.First(f => f.IsVector)).Metric;
        }

        var fuse = Fusion.For(request.Ranker, metrics);
        var keyIndex = schema.IndexOf(schema.PrimaryKey.Name);
        var queries = hits[0].Count;
        var fused = new List<List<(float Score, int Segment, int Row)>>(queries);
        for (var q = 0; q < queries; q++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var scores = new Dictionary<long, float>();
            for (var i = 0; i < count; i++)
            {
                var list = hits[i][q];
                for (var rank = 0; rank < list.Count; rank++)
                {
                    var (score, segment, row) = list[rank];
                    var id = FlatSearch.PackId(segment, row);
                    var part = fuse.Contribution(i, rank, score);
                    scores[id] = scores.TryGetValue(id, out var sum) ? sum + part : part;
                }
            }

            var ranked = new List<Candidate>(scores.Count);
            foreach (var (id, score) in scores)
            {
                var (segment, row) = FlatSearch.UnpackId(id);
                ranked.Add(new Candidate(score, segment, row, view.Segments[segment].GetColumn(keyIndex).GetValue(row)!));
            }

            var order = new CandidateOrder(fuse.Descending);
            ranked.Sort(order);
            fused.Add(groupIndex is { } gi
                ? Grouped(view, ranked, gi, request, order)
                : [.. ranked.Skip(request.Offset).Take(request.Limit).Select(c => (c.Score, c.Segment, c.Row))]);
        }

        return materialize(view, projection, fused);
    }

    private static void Validate(HybridRequest request)
    {
        ArgumentNullException.ThrowIfNull(request.Requests);
        ArgumentNullException.ThrowIfNull(request.Ranker);
        if (request.Requests.Count is 0 or > HybridRequest.MaxRequests)
        {
            Throw.Invalid($"hybrid search: {request.Requests.Count} search requests; give 1..{HybridRequest.MaxRequests}");
        }

        if (request.Limit is < 1 or > SearchRequest.MaxTopK)
        {
            Throw.Invalid($"hybrid search: limit must be in 1..{SearchRequest.MaxTopK}, got {request.Limit}");
        }

        if (request.Offset < 0 || (long)request.Offset + request.Limit > SearchRequest.MaxTopK)
        {
            Throw.Invalid($"hybrid search: offset + limit must be at most {SearchRequest.MaxTopK}, got {request.Offset} + {request.Limit}");
        }

        if (request.GroupByField is not null && request.GroupSize < 1)
        {
            Throw.Invalid($"hybrid search: group size must be at least 1, got {request.GroupSize}");
        }

        var queries = -1;
        for (var i = 0; i < request.Requests.Count; i++)
        {
            var sub = request.Requests[i] ?? throw new ArgumentException($"hybrid search: request {i} is null", nameof(request));
            var misplaced = sub.Offset != 0 ? "Offset"
                : sub.OutputFields.Count > 0 ? "OutputFields"
                : sub.Partitions.Count > 0 ? "Partitions"
                : sub.GroupByField is not null ? "GroupByField"
                : null;
            if (misplaced is not null)
            {
                Throw.Invalid($"hybrid search: request {i} sets {misplaced}, which belongs to the hybrid search request");
            }

            var nq = sub.QueryTexts?.Count ?? sub.SparseVectors?.Count ?? sub.Vectors?.Count ?? 0;
            if (queries >= 0 && nq != queries)
            {
                Throw.Invalid($"hybrid search: request {i} has {nq} query vectors and request 0 has {queries}; every request needs the same number");
            }

            queries = nq;
        }

        switch (request.Ranker)
        {
            case RrfRanker { K: var k } when !(k > 0 && k < 16_384):
                Throw.Invalid(string.Create(CultureInfo.InvariantCulture, $"hybrid search: RRF k must be in (0, 16384), got {k}"));
                break;
            case WeightedRanker { Weights: var weights }:
                ArgumentNullException.ThrowIfNull(weights);
                if (weights.Count != request.Requests.Count)
                {
                    Throw.Invalid($"hybrid search: the weighted ranker has {weights.Count} weights for {request.Requests.Count} search requests; give one weight per request");
                }

                for (var i = 0; i < weights.Count; i++)
                {
                    if (!(weights[i] is >= 0 and <= 1))
                    {
                        Throw.Invalid(string.Create(CultureInfo.InvariantCulture, $"hybrid search: weight {i} is {weights[i]}; weights must be in [0, 1]"));
                    }
                }

                break;
        }
    }

    /// <summary>From the fused candidates sorted best first, <see cref="HybridRequest.Limit"/> groups after
    /// <see cref="HybridRequest.Offset"/> of at most <see cref="HybridRequest.GroupSize"/> hits each.</summary>
    private static List<(float Score, int Segment, int Row)> Grouped(ReadView view, List<Candidate> ranked, int groupField,
        HybridRequest request, CandidateOrder order)
    {
        var groups = new List<List<Candidate>>();
        var byValue = new Dictionary<GroupKey, List<Candidate>>();
        foreach (var c in ranked)
        {
            var key = new GroupKey(view.Segments[c.Segment].GetColumn(groupField).GetValue(c.Row));
            if (!byValue.TryGetValue(key, out var members))
            {
                members = [];
                byValue[key] = members;
                groups.Add(members);
            }

            if (members.Count < request.GroupSize)
            {
                members.Add(c);
            }
        }

        // A group's score is its best member's (the first, as candidates arrive best first); equal scores put the larger
        // group first, then the group whose best member has the smaller key. The sort is stable, so this holds exactly.
        var sorted = groups.OrderBy(m => m[0], Comparer<Candidate>.Create((a, b) => order.CompareScores(a.Score, b.Score)))
            .ThenByDescending(m => m.Count)
            .ThenBy(m => m[0].Key, Comparer<object>.Create(CandidateOrder.CompareKeys));
        return [.. sorted.Skip(request.Offset).Take(request.Limit).SelectMany(m => m).Select(c => (c.Score, c.Segment, c.Row))];
    }

    /// <summary>A fused hit: its score, where it is, and its primary key (long or string) for ordering ties.</summary>
    private readonly record struct Candidate(float Score, int Segment, int Row, object Key);

    /// <summary>Best first: by score in the ranker's direction, then by primary key ascending.</summary>
    private sealed class CandidateOrder(bool descending) : IComparer<Candidate>
    {
        public int Compare(Candidate a, Candidate b)
        {
            var byScore = CompareScores(a.Score, b.Score);
            return byScore != 0 ? byScore : CompareKeys(a.Key, b.Key);
        }

        public int CompareScores(float a, float b) => descending ? b.CompareTo(a) : a.CompareTo(b);

        public static int CompareKeys(object? a, object? b) => (a, b) switch
        {
            (long x, long y) => x.CompareTo(y),
            (string x, string y) => string.CompareOrdinal(x, y),
            _ => 0,
        };
    }

    /// <summary>A group value usable as a dictionary key, null included.</summary>
    private readonly record struct GroupKey(object? Value);

    /// <summary>A ranker's per-hit contribution and the direction of its fused scores.</summary>
    internal sealed class Fusion
    {
        private readonly float _k;
        private readonly float[]? _weights;
        private readonly Func<float, float>[]? _normalize;

        private Fusion(float k, float[]? weights, Func<float, float>[]? normalize, bool descending)
        {
            _k = k;
            _weights = weights;
            _normalize = normalize;
            Descending = descending;
        }

        /// <summary>Whether larger fused scores are better.</summary>
        public bool Descending { get; }

        public static Fusion For(HybridRanker ranker, MetricType[] metrics)
        {
            if (ranker is RrfRanker rrf)
            {
                return new Fusion((float)rrf.K, null, null, descending: true);
            }

            var weighted = (WeightedRanker)ranker;
            var similarities = metrics.Count(LargerIsCloser);
            var mixed = similarities > 0 && similarities < metrics.Length;
            // As Milvus: normalized scores are all "larger is closer"; without normalization, searches over distance
            // metrics (L2) are turned around only when mixed with similarity metrics, and a fusion of distances alone
            // keeps the smallest weighted distance best.
            var normalize = metrics.Select(m => weighted.NormalizeScores || (mixed && !LargerIsCloser(m))
                ? (Func<float, float>)(s => WeightedRanker.Normalize(m, s))
                : s => s).ToArray();
            return new Fusion(0, [.. weighted.Weights], normalize, descending: weighted.NormalizeScores || similarities > 0);
        }

        /// <summary>What a hit at <paramref name="rank"/> (from 0) of request <paramref name="request"/> with
        /// <paramref name="score"/> adds to its fused score.</summary>
        public float Contribution(int request, int rank, float score) => _weights is null
            ? 1f / (_k + (rank + 1))
            : _weights[request] * _normalize![request](score);
    }
}
