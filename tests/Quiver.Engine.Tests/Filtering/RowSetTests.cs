using Quiver.Filtering;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>Row lists (<see cref="RowSet"/>) against sets of integers: AND, OR and NOT over every pair of forms (rows or
/// complement), and sorting back-to-back runs, over random inputs.</summary>
public sealed class RowSetTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 64)]
    [InlineData(4, 1000)]
    public void Operations_MatchSetAlgebra(int seed, int universe)
    {
        var rng = new Random(seed);
        for (var i = 0; i < 200; i++)
        {
            var (a, sa) = Random(rng, universe);
            var (b, sb) = Random(rng, universe);
            Check(a.And(b), sa.Intersect(sb), universe);
            Check(a.Or(b), sa.Union(sb), universe);
            Check(a.Not(), Enumerable.Range(0, universe).Except(sa), universe);
            Check(a.Not().And(b.Not()).Not(), sa.Union(sb), universe);
        }
    }

    /// <summary>Both ways of sorting runs: merging (few runs) and a bitmap of the universe (many runs of dense rows).</summary>
    [Theory]
    [InlineData(3, 9, 1 << 20)]
    [InlineData(1, 200, 500)]
    public void FromRuns_SortsBackToBackRuns(int every, int maxRuns, int universe)
    {
        var rng = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var all = Enumerable.Range(0, 500).Where(_ => rng.Next(every) == 0).ToList();
            // Deal the rows into a random number of ascending runs, then lay the runs end to end.
            var runs = Enumerable.Range(0, 1 + rng.Next(maxRuns)).Select(_ => new List<int>()).ToList();
            foreach (var r in all)
            {
                runs[rng.Next(runs.Count)].Add(r);
            }

            Assert.Equal(all, SortedRows.FromRuns([.. runs.SelectMany(x => x)], universe));
        }
    }

    private static (RowSet Set, HashSet<int> Members) Random(Random rng, int universe)
    {
        var density = rng.NextDouble();
        var listed = Enumerable.Range(0, universe).Where(_ => rng.NextDouble() < density).ToArray();
        return rng.Next(2) == 0
            ? (RowSet.Of(listed, universe), [.. listed])
            : (RowSet.AllBut(listed, universe), [.. Enumerable.Range(0, universe).Except(listed)]);
    }

    private static void Check(RowSet actual, IEnumerable<int> expected, int universe)
    {
        var want = expected.Order().ToArray();
        Assert.Equal(want.Length, actual.Count);
        Assert.Equal(want, Enumerable.Range(0, universe).Where(actual.Contains).ToArray());
        Assert.True(actual.Rows.SequenceEqual(actual.Rows.Order().Distinct()), "rows must be ascending and distinct");
        var bits = new int[actual.Count];
        actual.ToBitmap().CopySetBits(bits);
        Assert.Equal(want, bits);
    }
}
