using Quiver.Cli.Tests.Ops.Tune;
using Quiver.Client;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary><see cref="QuiverToolbox.TuneAsync"/> called as a library (no command line): the setting it chooses and
/// saves is checked from outside, by searching with the saved defaults and counting recall against a brute-force
/// top-k written here.</summary>
public sealed class QuiverToolboxTuneTests : IDisposable
{
    private const int Rows = 3000;
    private const int K = 10;
    private readonly TempFolder _dir = new("quiver-toolbox-tune");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task TuneAsync_SavesTheSettingItChose_AndItsRecallIsWhatABruteForceCheckCounts()
    {
        await using (var engine = await QuiverEngine.OpenAsync(_dir.Path))
        await using (var client = QuiverClient.FromEngine(engine))
        {
            await TuneData.CreateAsync(client, "h", "HNSW", TuneData.P(("M", 8), ("efConstruction", 64)), count: Rows);
        }

        // 100 query vectors from another seed (not rows of the collection), as a .fvecs file.
        const int nq = 100;
        var queries = TuneData.Clustered(nq, seed: 99);
        var file = _dir.Sub("queries.fvecs");
        await using (var output = File.Create(file))
        await using (var writer = new BinaryWriter(output))
        {
            for (var q = 0; q < nq; q++)
            {
                writer.Write(TuneData.Dim);
                foreach (var v in queries.AsSpan(q * TuneData.Dim, TuneData.Dim))
                {
                    writer.Write(v);
                }
            }
        }

        var r = await QuiverToolbox.TuneAsync(new TuneOptions
        {
            Target = TargetSpec.Folder(_dir.Path), Collection = "h", QueryFile = file, Queries = nq, K = K, TargetRecall = 0.85, Save = true, Warmup = 1,
        });

        Assert.True(r.Tunable);
        Assert.Equal(nq, r.TuningQueries + r.HeldOutQueries);
        var chosen = Assert.Single(r.Sweep, s => s.Chosen);
        Assert.True(r.HeldOutMeetsTarget, r.Summary);
        Assert.NotNull(r.SavedValue);
        Assert.Contains(chosen.Params["ef"].ToString(System.Globalization.CultureInfo.InvariantCulture), r.SavedValue, StringComparison.Ordinal);

        // From outside: the saved defaults apply to a search that names no parameters; its recall against brute force,
        // over all 100 queries, is the count-weighted mean of what the tuner reported for its two halves.
        var rows = TuneData.Clustered(Rows, seed: 5);
        var found = 0;
        await using (var engine = await QuiverEngine.OpenAsync(_dir.Path))
        await using (var client = QuiverClient.FromEngine(engine))
        {
            // After a reopen a search answers exactly until the index is loaded again: wait for it, as the tuner did.
            await client.WaitForIndexAsync("h");
            await client.LoadCollectionAsync("h");
            for (var q = 0; q < nq; q++)
            {
                var query = queries.AsSpan(q * TuneData.Dim, TuneData.Dim).ToArray();
                var result = await client.SearchAsync("h", new SearchRequest { Vectors = [query], Limit = K });
                var exact = TuneData.ExactTopK(query, rows, K);
                found += result.Hits[0].Count(h => exact.Contains(Convert.ToInt64(h.Id, System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        var reported = ((chosen.Recall * r.TuningQueries) + (r.HeldOutRecall!.Value * r.HeldOutQueries)) / nq;
        var measured = found / (double)(nq * K);

        // Exact up to ties at the k-th distance, which float and double arithmetic may break differently: at most one
        // hit in a query's ten.
        Assert.True(Math.Abs(reported - measured) <= 1.0 / (nq * K) + 1e-12, $"tuner {reported}, brute force {measured}");
        Assert.True(measured >= 0.85 - (1.0 / (nq * K)), $"recall with the saved setting {measured}");
    }
}
