using System.Globalization;
using Quiver.Indexing;

namespace Quiver.Toolbox.Tune;

/// <summary>One search setting of a sweep: the parameters it names, by Milvus name (<c>ef</c>, <c>nprobe</c>,
/// <c>search_k</c>, <c>refine_k</c>), all integers.</summary>
internal sealed class SweepSetting
{
    /// <summary>A setting naming <paramref name="values"/>.</summary>
    public SweepSetting(IReadOnlyDictionary<string, int> values) => Values = new SortedDictionary<string, int>(values.ToDictionary(), StringComparer.Ordinal);

    /// <summary>The parameters, sorted by name.</summary>
    public IReadOnlyDictionary<string, int> Values { get; }

    /// <summary>The parameters as text values, as <see cref="SearchRequest.SearchParams"/> and <see cref="IndexParameters"/> take them.</summary>
    public Dictionary<string, string> AsText() =>
        Values.ToDictionary(p => p.Key, p => p.Value.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal);

    /// <summary>Parsed for <see cref="VectorIndex.Search"/>.</summary>
    public AnnSearchParams Parse() => AnnSearchParams.Parse(new IndexParameters(AsText()));

    /// <summary><c>{"ef":64}</c>.</summary>
    public override string ToString() => new IndexParameters(AsText()).ToJson();
}

/// <summary>Which search settings <c>quiver tune</c> and <c>quiver advise</c> try for an index, in order of increasing
/// effort: HNSW (and AUTOINDEX, which resolves to HNSW) <c>ef</c> from k up a geometric ladder to 512, extended to
/// 4,096 when a recall target is not met by then; IVF_FLAT / IVF_SQ8 <c>nprobe</c> 1, 2, 4 ... nlist; IVF_PQ the same
/// <c>nprobe</c> ladder without re-ranking and with <c>refine_k</c> 2 and 8; DISKANN <c>search_list</c> on HNSW's
/// ladder (it must be at least k, so k starts it); ANNOY <c>search_k</c> from a quarter of
/// its default (n_trees × k) to 64 times it. FLAT has nothing to tune.</summary>
internal static class SweepPlan
{
    /// <summary>The HNSW <c>ef</c> ladder (ratio about 1.5); values below k are dropped and k itself starts the sweep.</summary>
    private static readonly int[] EfLadder = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];

    private static readonly int[] EfExtension = [768, 1024, 1536, 2048, 3072, 4096];

    /// <summary>True when the index has a search parameter to tune (not FLAT).</summary>
    public static bool IsTunable(IndexKind kind) => kind != IndexKind.Flat;

    /// <summary>True when the settings vary one parameter, so effort grows along the list; false for IVF_PQ's grid of
    /// <c>nprobe</c> × <c>refine_k</c>, whose costs are compared by measurement or by the index's cost model.</summary>
    public static bool IsLadder(IndexKind kind) => kind != IndexKind.IvfPq;

    /// <summary>The settings of <paramref name="kind"/> built with <paramref name="build"/> over segments of up to
    /// <paramref name="rows"/> rows, for top-<paramref name="k"/> searches.</summary>
    public static IReadOnlyList<SweepSetting> Settings(IndexKind kind, IndexParameters build, int k, long rows)
    {
        switch (kind)
        {
            case IndexKind.Hnsw or IndexKind.AutoIndex:
                return [.. new[] { k }.Concat(EfLadder.Where(ef => ef > k)).Select(ef => One("ef", ef))];
            case IndexKind.DiskAnn:
                return [.. new[] { k }.Concat(EfLadder.Where(l => l > k)).Select(l => One("search_list", l))];
            case IndexKind.IvfFlat or IndexKind.IvfSq8:
                return [.. NprobeLadder(build, kind, rows).Select(n => One("nprobe", n))];
            case IndexKind.IvfPq:
            {
                var ladder = NprobeLadder(build, kind, rows);
                var plain = ladder.Select(n => One("nprobe", n));
                var refined = new[] { 2, 8 }.SelectMany(r => ladder.Select(n => new SweepSetting(new Dictionary<string, int> { ["nprobe"] = n, ["refine_k"] = r })));
                return [.. plain.Concat(refined)];
            }

            case IndexKind.Annoy:
            {
                var trees = build.GetInt("index ANNOY", "n_trees", 8, 1, 1024);
                var standard = (long)trees * k;
                var list = new List<SweepSetting>();
                for (var factor = 0.25; factor <= 64; factor *= 2)
                {
                    var searchK = (int)Math.Min(int.MaxValue, Math.Max(k, (long)(standard * factor)));
                    if (list.Count == 0 || list[^1].Values["search_k"] != searchK)
                    {
                        list.Add(One("search_k", searchK));
                    }
                }

                return list;
            }

            default:
                return [];
        }
    }

    /// <summary>More effort for a ladder that ended below a recall target (graphs only: <c>ef</c> or <c>search_list</c>
    /// beyond 512); empty for other kinds, whose ladders already reach an exhaustive setting.</summary>
    public static IReadOnlyList<SweepSetting> Extension(IndexKind kind) => kind switch
    {
        IndexKind.Hnsw or IndexKind.AutoIndex => [.. EfExtension.Select(ef => One("ef", ef))],
        IndexKind.DiskAnn => [.. EfExtension.Select(l => One("search_list", l))],
        _ => [],
    };

    /// <summary>The inverted lists a segment of <paramref name="rows"/> rows gets: <c>nlist</c> (default 128), at most one per row.</summary>
    public static int Nlist(IndexParameters build, IndexKind kind, long rows) =>
        IvfIndex.NlistOf("index " + kind.ToMilvusName(), build, (int)Math.Clamp(rows, 1, int.MaxValue));

    private static List<int> NprobeLadder(IndexParameters build, IndexKind kind, long rows)
    {
        var nlist = Nlist(build, kind, rows);
        var ladder = new List<int>();
        for (var n = 1; n < nlist; n *= 2)
        {
            ladder.Add(n);
        }

        ladder.Add(nlist);
        return ladder;
    }

    private static SweepSetting One(string name, int value) => new(new Dictionary<string, int> { [name] = value });
}
