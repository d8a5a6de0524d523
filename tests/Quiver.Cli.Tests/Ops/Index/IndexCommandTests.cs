using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Index;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;

namespace Quiver.Cli.Tests.Ops.Index;

/// <summary><c>quiver index create|list|drop</c> on a folder and on a server.</summary>
public sealed class IndexCommandTests
{
    private const int Dim = 8;

    private static CliIo Io() => new(new StringWriter(), new StringWriter());

    private static async Task SeedAsync(QuiverEngine engine, int rows)
    {
        await engine.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", Dim, MetricType.L2)],
        });
        var rng = new Random(3);
        await engine.InsertAsync("c", [.. Enumerable.Range(0, rows).Select(i => new Row { ["id"] = (long)i, ["v"] = TestData.Vector(rng, Dim) })]);
    }

    [Fact]
    public async Task Create_Wait_List_Drop_OnAFolder()
    {
        using var dir = new TempFolder();
        await using (var engine = await QuiverEngine.OpenAsync(dir.Path))
        {
            await SeedAsync(engine, 3000);
        }

        var spec = TargetSpec.Folder(dir.Path);
        var created = await IndexCommand.CreateAsync(spec, new IndexCreateOptions("c", null, "hnsw", """{"M":8,"efConstruction":64}""", null, null, Wait: true), Io(), CancellationToken.None);
        Assert.Equal(("v", "v", "HNSW", IndexState.Finished), (created.Name, created.Field, created.Type, created.State));
        Assert.Equal(3000, created.IndexedRows);
        Assert.Equal("8", created.Params["M"]);

        var listed = Assert.Single(await IndexCommand.ListAsync(spec, "c", CancellationToken.None));
        Assert.Equal(MetricType.L2, listed.Metric);
        await IndexCommand.DropAsync(spec, "c", null, CancellationToken.None);
        Assert.Empty(await IndexCommand.ListAsync(spec, "c", CancellationToken.None));
    }

    [Fact]
    public async Task Create_OnAServer_AndBadInputNamesTheProblem()
    {
        using var dir = new TempFolder();
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = dir.Path, Port = 0 });
        await SeedAsync(server.Engine, 500);
        var spec = TargetSpec.Server($"http://127.0.0.1:{server.Port}");

        var created = await IndexCommand.CreateAsync(spec, new IndexCreateOptions("c", "v", "IVF_FLAT", """{"nlist":16}""", "L2", "ivf", Wait: true), Io(), CancellationToken.None);
        Assert.Equal(("ivf", "IVF_FLAT", IndexState.Finished, 500L), (created.Name, created.Type, created.State, created.IndexedRows));
        Assert.Equal("ivf", Assert.Single(await IndexCommand.ListAsync(spec, "c", CancellationToken.None)).Name);

        var type = await Assert.ThrowsAsync<ToolboxException>(() => IndexCommand.CreateAsync(spec, new IndexCreateOptions("c", null, "BTREE", null, null, null, false), Io(), CancellationToken.None));
        Assert.Contains("--type 'BTREE'", type.Message, StringComparison.Ordinal);
        var metric = await Assert.ThrowsAsync<ToolboxException>(() => IndexCommand.CreateAsync(spec, new IndexCreateOptions("c", null, "HNSW", null, "HAMMING", null, false), Io(), CancellationToken.None));
        Assert.Contains("--metric 'HAMMING'", metric.Message, StringComparison.Ordinal);
        var json = await Assert.ThrowsAnyAsync<QuiverException>(() => IndexCommand.CreateAsync(spec, new IndexCreateOptions("c", null, "HNSW", "{M:16", null, null, false), Io(), CancellationToken.None));
        Assert.Contains("--params", json.Message, StringComparison.Ordinal);
    }
}
