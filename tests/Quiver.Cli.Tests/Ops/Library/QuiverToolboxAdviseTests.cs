using System.Globalization;
using Quiver.Cli.Tests.Ops.Tune;
using Quiver.Client;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Advise;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary><see cref="QuiverToolbox.AdviseAsync"/> called as a library (no command line): the advice is followed on
/// the collection it was given for (its index built with the recommended build parameters, searched with the
/// recommended search parameters) and the recall it reaches is counted against a brute-force top-k written here.</summary>
public sealed class QuiverToolboxAdviseTests : IDisposable
{
    private const int Rows = 12_000;
    private const int K = 10;
    private readonly TempFolder _dir = new("quiver-toolbox-advise");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AdviseAsync_Collection_RecommendsAnIndexThatReachesTheTargetWhenFollowed()
    {
        await using (var engine = await QuiverEngine.OpenAsync(_dir.Path))
        await using (var client = QuiverClient.FromEngine(engine))
        {
            await TuneData.CreateAsync(client, "a", null, null, count: Rows);
        }

        var r = await QuiverToolbox.AdviseAsync(new AdviseOptions
        {
            Target = TargetSpec.Folder(_dir.Path), Collection = "a", TargetRecall = 0.9, Sample = Rows, Queries = 100, K = K, Threads = 2,
        });

        Assert.Equal("collection a.vector", r.Source);
        Assert.Equal(Rows, r.PlannedRows);
        var advice = r.Recommended;
        Assert.NotNull(advice);
        Assert.True(advice.Eligible);
        Assert.NotEqual("FLAT", advice.IndexType); // above 10K rows an index is chosen when one meets the target
        Assert.All(r.Candidates.Where(c => c.Chosen), c => Assert.Same(advice, c));

        // Follow the advice, then count recall@10 against brute force for 100 of the collection's own rows as queries
        // (the distribution the advisor sampled), each query's own row left out of both answers.
        var rows = TuneData.Clustered(Rows, seed: 5);
        var found = 0;
        await using (var engine = await QuiverEngine.OpenAsync(_dir.Path))
        await using (var client = QuiverClient.FromEngine(engine))
        {
            await client.ReleaseCollectionAsync("a");
            await client.CreateIndexAsync("a", new IndexDefinition
            {
                FieldName = "vector", IndexType = advice.IndexType,
                Params = advice.BuildParams.ToDictionary(p => p.Key, p => p.Value.ToString(CultureInfo.InvariantCulture)),
            });
            await client.WaitForIndexAsync("a");
            await client.LoadCollectionAsync("a");
            var searchParams = advice.SearchParams.ToDictionary(p => p.Key, p => p.Value.ToString(CultureInfo.InvariantCulture));
            for (var q = 0; q < 100; q++)
            {
                var self = q * (Rows / 100);
                var query = rows.AsSpan(self * TuneData.Dim, TuneData.Dim).ToArray();
                var result = await client.SearchAsync("a", new SearchRequest { Vectors = [query], Limit = K + 1, SearchParams = searchParams });
                var hits = result.Hits[0].Select(h => Convert.ToInt64(h.Id, CultureInfo.InvariantCulture)).Where(id => id != self).Take(K);
                var exact = TuneData.ExactTopK(query, rows, K, exclude: self);
                found += hits.Count(exact.Contains);
            }
        }

        // The advisor measured its candidates on other queries: allow their sampling spread (0.03), not more.
        var recall = found / (double)(100 * K);
        Assert.True(recall >= 0.9 - 0.03, $"{advice.Name} {string.Join(",", advice.SearchParams)}: recall@10 {recall} following the advice (advisor's sample {advice.SampleRecall})");
    }
}
