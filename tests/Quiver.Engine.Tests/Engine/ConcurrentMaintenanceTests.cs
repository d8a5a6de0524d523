using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Several collections checkpoint and compact at once, each writing the one shared manifest: after a reopen
/// every acknowledged row is there. A smoke test for concurrent maintenance; the stale-metadata race that review found
/// (a manifest write recording another collection's metadata in the instant before that collection committed its new
/// checkpoint) has too narrow a window for it to catch reliably, and is closed by design (commit under the manifest
/// gate), not by this test.</summary>
public sealed class ConcurrentMaintenanceTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ConcurrentFlushesAndCompactions_OfSeveralCollections_SurviveReopen()
    {
        const int collections = 3;
        const int rounds = 25;
        var options = new QuiverOptions { BackgroundMaintenance = false, SegmentMaxRows = 40 };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            for (var c = 0; c < collections; c++)
            {
                await db.CreateCollectionAsync($"c{c}", TestData.ProductSchema(dim: 4));
            }

            var rng = new Random(8);
            for (var round = 0; round < rounds; round++)
            {
                var rows = Enumerable.Range(round * 10, 10).Select(i => TestData.ProductRow(rng, i, dim: 4)).ToList();
                await Task.WhenAll(Enumerable.Range(0, collections).Select(c => db.InsertAsync($"c{c}", rows)));
                await Task.WhenAll(Enumerable.Range(0, collections).Select(c => Task.Run(async () =>
                {
                    await db.DeleteAsync($"c{c}", [(long)(round * 10)]);
                    await db.FlushAsync($"c{c}");
                    await db.CompactAsync($"c{c}");
                })));
            }
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            for (var c = 0; c < collections; c++)
            {
                var count = await db.QueryAsync($"c{c}", new QueryRequest { OutputFields = ["count(*)"] });
                Assert.Equal((long)rounds * 9, count[0]["count(*)"]);
            }
        }
    }
}
