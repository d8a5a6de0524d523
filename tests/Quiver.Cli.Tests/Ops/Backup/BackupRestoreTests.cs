using System.Collections.Concurrent;
using System.CommandLine;
using System.Text.Json;
using Quiver.Cli.Ops.Backup;
using Quiver.Toolbox.Backup;
using Quiver.Cli.Ops.Cli;
using Quiver.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;

namespace Quiver.Cli.Tests.Ops.Backup;

/// <summary>quiver backup / restore: round trips from a folder and a server, archives, damage, and a backup taken under
/// concurrent writes.</summary>
public sealed class BackupRestoreTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-backup");

    public void Dispose() => _dir.Dispose();

    private static CliIo Io() => new(new StringWriter(), new StringWriter());

    /// <summary>Two collections: products (two partitions, dynamic keys, nulls, an HNSW index, an alias, a property)
    /// and auto (auto_id keys, no index).</summary>
    private static async Task SeedAsync(string folder)
    {
        await using var engine = await QuiverEngine.OpenAsync(folder);
        await engine.CreateCollectionAsync("products", TestData.ProductSchema(dim: 8, dynamic: true));
        await engine.CreatePartitionAsync("products", "archive");
        var rng = new Random(11);
        var rows = Enumerable.Range(1, 230).Select(i =>
        {
            var row = TestData.ProductRow(rng, i);
            if (i % 4 == 0)
            {
                row["color"] = "c" + (i % 3);
            }

            return (IReadOnlyDictionary<string, object?>)row;
        }).ToList();
        await engine.InsertAsync("products", rows[..150]);
        await engine.InsertAsync("products", rows[150..], "archive");
        await engine.CreateIndexAsync("products", new IndexDefinition
        {
            FieldName = "embedding", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "40" },
        });
        await engine.CreateAliasAsync("products", "shop");
        await engine.AlterCollectionPropertiesAsync("products", new Dictionary<string, string> { ["collection.ttl.seconds"] = "0" });

        await engine.CreateCollectionAsync("auto", TestData.ProductSchema(dim: 4, autoId: true));
        await engine.InsertAsync("auto", [.. Enumerable.Range(0, 40).Select(i => (IReadOnlyDictionary<string, object?>)TestData.ProductRow(rng, i, 4, withId: false))]);
    }

    /// <summary>Every row of every partition of a collection, canonical JSON, in key order.</summary>
    private static async Task<Dictionary<string, List<string>>> DumpAsync(IQuiverClient client, string collection)
    {
        var dump = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var partition in (await client.ListPartitionsAsync(collection)).Order(StringComparer.Ordinal))
        {
            var rows = new List<string>();
            await foreach (var page in CollectionScanner.ScanAsync(client, collection, partition: partition, pageSize: 64))
            {
                rows.AddRange(page.Select(r => JsonSerializer.Serialize(new SortedDictionary<string, object?>(r, StringComparer.Ordinal))));
            }

            dump[partition] = rows;
        }

        return dump;
    }

    private async Task AssertSameAsync(string sourceFolder, IQuiverClient restored, QuiverEngine restoredEngine, string? rename = null)
    {
        await using var source = await QuiverClient.OpenEmbeddedAsync(sourceFolder);
        foreach (var name in new[] { "products", "auto" })
        {
            var target = name == "products" && rename is not null ? rename : name;
            var want = await DumpAsync(source, name);
            var got = await DumpAsync(restored, target);
            Assert.Equal(want.Keys, got.Keys);
            foreach (var partition in want.Keys)
            {
                Assert.Equal(want[partition], got[partition]);
            }

            Assert.Equal(
                (await source.DescribeCollectionAsync(name)).Schema.Fields.Select(f => JsonSerializer.Serialize(f)),
                (await restored.DescribeCollectionAsync(target)).Schema.Fields.Select(f => JsonSerializer.Serialize(f)));
        }

        var products = rename ?? "products";
        var index = Assert.Single(await restored.DescribeIndexesAsync(products));
        Assert.Equal(("embedding", "HNSW", "8", "40", IndexState.Finished), (index.FieldName, index.IndexType, index.Params["M"], index.Params["efConstruction"], index.State));
        Assert.Equal("0", (await restored.DescribeCollectionAsync(products)).Properties["collection.ttl.seconds"]);
        Assert.Equal(["shop"], await restoredEngine.ListAliasesAsync(products));
        Assert.Empty(await restored.DescribeIndexesAsync("auto"));
    }

    [Fact]
    public async Task Backup_QuietFolder_RestoresEveryRowExactly()
    {
        var src = _dir.Sub("src");
        await SeedAsync(src);
        var output = _dir.Sub("bk");
        var backup = await BackupTool.RunAsync(new BackupOptions(TargetSpec.Folder(src), output, RowsPerFile: 50, PageSize: 20), Io(), CancellationToken.None);
        Assert.Equal(["auto", "products"], backup.Collections.Select(c => c.Name));
        Assert.Equal(270, backup.Rows);
        var products = backup.Collections.Single(c => c.Name == "products");
        Assert.Equal((230L, 2, 5, 1), (products.Rows, products.Partitions, products.Files, products.Indexes)); // 150 = 3 files of 50, 80 = 2 files
        Assert.True(File.Exists(Path.Combine(output, "manifest.json")));

        var dst = _dir.Sub("dst");
        var restore = await RestoreTool.RunAsync(new RestoreOptions(TargetSpec.Folder(dst), output, BatchSize: 37), Io(), CancellationToken.None);
        Assert.Equal(6, restore.FilesVerified); // products: 3 + 2 files of at most 50 rows; auto: 1
        Assert.Equal(270, restore.Collections.Sum(c => c.Rows));

        await using var engine = await QuiverEngine.OpenAsync(dst);

        // A reopened folder attaches its index files in the background.
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            await engine.WaitForIndexAsync("products", cancellationToken: timeout.Token);
        }

        await AssertSameAsync(src, QuiverClient.FromEngine(engine), engine);

        // auto_id keys came back as they were, and new inserts do not collide with them.
        var more = await engine.InsertAsync("auto", [TestData.ProductRow(new Random(1), 0, 4, withId: false)]);
        var restoredKeys = (await DumpAsync(QuiverClient.FromEngine(engine), "auto")).Values.SelectMany(v => v).Count();
        Assert.Equal(41, restoredKeys);
        Assert.Single(more.Keys);
    }

    [Fact]
    public async Task Backup_TarGzArchive_RestoresIntoARunningServer_WithRename()
    {
        var src = _dir.Sub("src");
        await SeedAsync(src);
        var archive = _dir.Sub("bk.tar.gz");
        var backup = await BackupTool.RunAsync(new BackupOptions(TargetSpec.Folder(src), archive), Io(), CancellationToken.None);
        Assert.True(backup.Archive);
        Assert.True(File.Exists(archive));
        Assert.Empty(Directory.EnumerateDirectories(_dir.Path, "bk.tar.gz*"));

        using var serverData = new TempFolder();
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = serverData.Path, Port = 0 });
        var uri = $"http://127.0.0.1:{server.Port}";
        var renames = new Dictionary<string, string> { ["products"] = "products_copy" };
        var restore = await RestoreTool.RunAsync(new RestoreOptions(TargetSpec.Server(uri), archive, Renames: renames), Io(), CancellationToken.None);
        Assert.Equal(["auto", "products_copy"], restore.Collections.Select(c => c.Name).Order(StringComparer.Ordinal));

        await AssertSameAsync(src, QuiverClient.FromEngine(server.Engine), server.Engine, rename: "products_copy");

        // Over the wire the restored collection is loaded and answers queries.
        await using var remote = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = uri });
        var count = await remote.QueryAsync("products_copy", new QueryRequest { OutputFields = ["count(*)"] });
        Assert.Equal(230L, Convert.ToInt64(count[0]["count(*)"], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("missing")]
    [InlineData("truncate")]
    [InlineData("manifest")]
    [InlineData("no-manifest")]
    public async Task Restore_DamagedBackup_IsRefusedNamingTheFile_AndCreatesNothing(string damage)
    {
        var src = _dir.Sub("src");
        await SeedAsync(src);
        var output = _dir.Sub("bk");
        await BackupTool.RunAsync(new BackupOptions(TargetSpec.Folder(src), output), Io(), CancellationToken.None);
        var victim = "default/products/p0001/part-00000.parquet";
        var path = Path.Combine(output, victim);
        var manifest = Path.Combine(output, "manifest.json");
        switch (damage)
        {
            case "flip":
                var bytes = File.ReadAllBytes(path);
                bytes[bytes.Length / 2] ^= 0x40;
                File.WriteAllBytes(path, bytes);
                break;
            case "missing":
                File.Delete(path);
                break;
            case "truncate":
                using (var f = File.OpenWrite(path))
                {
                    f.SetLength(f.Length - 100);
                }

                break;
            case "manifest":
                File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"rows\": 80", "\"rows\": 81", StringComparison.Ordinal));
                victim = "manifest.json";
                break;
            default:
                File.Delete(manifest);
                victim = "manifest.json";
                break;
        }

        var dst = _dir.Sub("dst");
        foreach (var verifyOnly in new[] { true, false })
        {
            // Through the library's public call, as an application makes it: the damage is an exception of its own kind,
            // never a result that a caller could read as a restore.
            var e = await Assert.ThrowsAsync<BackupDamagedException>(() => QuiverToolbox.RestoreAsync(new RestoreOptions(TargetSpec.Folder(dst), output, VerifyOnly: verifyOnly)));
            Assert.Equal(ToolboxErrorKind.DamagedBackup, e.Kind);
            Assert.Equal(output, e.Path);
            var problem = Assert.Single(e.Problems);
            Assert.StartsWith(victim + ":", problem);
            Assert.Contains(damage switch { "flip" => "SHA-256", "missing" => "missing", "truncate" => "truncated", "manifest" => "checksum mismatch", _ => "missing" }, problem);
            Assert.Equal($"backup {output} is damaged; nothing was restored: {problem}", e.Message);
            Assert.False(Directory.Exists(dst));
        }
    }

    [Fact]
    public async Task Restore_Command_ExitsTwoOnDamage_AndZeroOnVerifyOnlyOfAWholeBackup()
    {
        var src = _dir.Sub("src");
        await SeedAsync(src);
        var archive = _dir.Sub("bk.tar");
        await BackupTool.RunAsync(new BackupOptions(TargetSpec.Folder(src), archive), Io(), CancellationToken.None);
        var root = new RootCommand { BackupCommands.CreateRestore() };
        Assert.Equal(ExitCodes.Ok, await root.Parse(["restore", archive, "--verify-only", "--data", _dir.Sub("never")]).InvokeAsync());
        Assert.False(Directory.Exists(_dir.Sub("never")));

        var bytes = File.ReadAllBytes(archive);
        bytes[2048] ^= 0x01; // inside the first data file's bytes (after its 512-byte tar header and the pax header)
        File.WriteAllBytes(archive, bytes);
        Assert.Equal(ExitCodes.CheckFailed, await root.Parse(["restore", archive, "--data", _dir.Sub("dst")]).InvokeAsync());
        Assert.False(Directory.Exists(_dir.Sub("dst")));
    }

    [Fact]
    public async Task Restore_ExistingCollection_IsRefusedBeforeCreatingAnything_UnlessRenamed()
    {
        var src = _dir.Sub("src");
        await SeedAsync(src);
        var output = _dir.Sub("bk");
        await BackupTool.RunAsync(new BackupOptions(TargetSpec.Folder(src), output, Collections: ["products"]), Io(), CancellationToken.None);

        var dst = _dir.Sub("dst");
        await using (var engine = await QuiverEngine.OpenAsync(dst))
        {
            await engine.CreateCollectionAsync("products", TestData.ProductSchema());
        }

        var e = await Assert.ThrowsAsync<ToolboxException>(() => RestoreTool.RunAsync(new RestoreOptions(TargetSpec.Folder(dst), output), Io(), CancellationToken.None));
        Assert.Contains("'products' exists already", e.Message);
        Assert.Contains("RestoreOptions.Renames products=NEW_NAME", e.Message, StringComparison.Ordinal);
        Assert.Equal(ToolboxErrorKind.Conflict, e.Kind);
        Assert.Contains("--rename products=NEW_NAME", CliWording.Flags(e.Message), StringComparison.Ordinal);

        var renamed = await RestoreTool.RunAsync(
            new RestoreOptions(TargetSpec.Folder(dst), output, Renames: BackupCommands.ParseRenames(["products=products_2"])), Io(), CancellationToken.None);
        var only = Assert.Single(renamed.Collections);
        Assert.Equal(("products", "products_2", 230L), (only.Source, only.Name, only.Rows));

        // The alias 'shop' did not exist in dst, so it now points at the restored copy.
        Assert.Equal(["shop"], only.Aliases);
        await Assert.ThrowsAsync<ToolboxException>(() => RestoreTool.RunAsync(
            new RestoreOptions(TargetSpec.Folder(dst), output, Collections: ["nope"]), Io(), CancellationToken.None));
    }

    [Fact]
    public async Task Backup_OfARunningServerUnderConcurrentWrites_HoldsEveryWriteAcknowledgedBeforeItBegan()
    {
        const int Dim = 8;
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)] };
        using var serverData = new TempFolder();
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = serverData.Path, Port = 0 });
        var engine = server.Engine;
        await engine.CreateCollectionAsync("live", schema);
        await engine.CreateAliasAsync("live", "live_now");

        var versions = new ConcurrentDictionary<long, ConcurrentBag<float[]>>();
        var acknowledged = new ConcurrentDictionary<long, bool>();
        var rng = new Random(5);
        for (var b = 0; b < 10; b++)
        {
            var batch = Enumerable.Range(b * 200, 200).Select(i => new Row { ["id"] = (long)i, ["vec"] = TestData.Vector(rng, Dim) }).ToList();
            foreach (var row in batch)
            {
                versions.GetOrAdd((long)row["id"]!, _ => []).Add((float[])row["vec"]!);
            }

            await engine.InsertAsync("live", batch);
            foreach (var row in batch)
            {
                acknowledged[(long)row["id"]!] = true;
            }
        }

        using var stop = new CancellationTokenSource();
        var backupRunning = 0;
        var writesDuringBackup = 0;
        var inserter = Task.Run(async () =>
        {
            var local = new Random(6);
            for (var i = 0; i < 2000 && !stop.IsCancellationRequested; i++)
            {
                var batch = Enumerable.Range(100_000 + (i * 10), 10).Select(k => new Row { ["id"] = (long)k, ["vec"] = TestData.Vector(local, Dim) }).ToList();
                foreach (var row in batch)
                {
                    versions.GetOrAdd((long)row["id"]!, _ => []).Add((float[])row["vec"]!);
                }

                await engine.InsertAsync("live", batch);
                foreach (var row in batch)
                {
                    acknowledged[(long)row["id"]!] = true;
                }

                if (Volatile.Read(ref backupRunning) == 1)
                {
                    Interlocked.Increment(ref writesDuringBackup);
                }

                await Task.Yield();
            }
        });
        var upserter = Task.Run(async () =>
        {
            var local = new Random(7);
            for (var i = 0; i < 5000 && !stop.IsCancellationRequested; i++)
            {
                var key = (long)local.Next(2000);
                var vector = TestData.Vector(local, Dim);
                versions[key].Add(vector);
                await engine.UpsertAsync("live", [new Row { ["id"] = key, ["vec"] = vector }]);
                if (Volatile.Read(ref backupRunning) == 1)
                {
                    Interlocked.Increment(ref writesDuringBackup);
                }

                await Task.Yield();
            }
        });

        // Let the writers get going, then note what is acknowledged when the backup begins.
        while (acknowledged.Count < 2100)
        {
            await Task.Delay(5);
        }

        var before = acknowledged.Keys.ToHashSet();
        var output = _dir.Sub("live-bk");
        Volatile.Write(ref backupRunning, 1);
        var backup = await BackupTool.RunAsync(
            new BackupOptions(TargetSpec.Server($"http://127.0.0.1:{server.Port}"), output, PageSize: 50), Io(), CancellationToken.None);
        Volatile.Write(ref backupRunning, 0);
        await stop.CancelAsync();
        await Task.WhenAll(inserter, upserter);
        Assert.True(backup.Rows >= before.Count);
        Assert.True(writesDuringBackup > 0, "no write was acknowledged while the backup ran: the test did not test concurrency");

        var manifest = BackupManifest.Parse(File.ReadAllBytes(Path.Combine(output, "manifest.json")), out var problem);
        Assert.Null(problem);
        var live = Assert.Single(manifest!.Collections);
        Assert.Equal(["live_now"], live.Aliases);
        Assert.False(live.Loaded);

        var dst = _dir.Sub("dst");
        await RestoreTool.RunAsync(new RestoreOptions(TargetSpec.Folder(dst), output), Io(), CancellationToken.None);
        await using var restored = await QuiverEngine.OpenAsync(dst);
        var rows = new Dictionary<long, float[]>();
        await foreach (var page in CollectionScanner.ScanAsync(QuiverClient.FromEngine(restored), "live", pageSize: 500))
        {
            foreach (var row in page)
            {
                Assert.True(rows.TryAdd((long)row["id"]!, (float[])row["vec"]!), "a key twice in the backup");
            }
        }

        foreach (var key in before)
        {
            Assert.True(rows.TryGetValue(key, out var vector), $"key {key}, acknowledged before the backup began, is missing");
            Assert.Contains(versions[key], v => v.AsSpan().SequenceEqual(vector));
        }

        // The collection was released on the server before; the backup loaded it for reading and released it again.
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        var state = await http.PostAsync("/v2/vectordb/collections/get_load_state", new StringContent("{\"collectionName\":\"live\"}"));
        Assert.Contains("LoadStateNotLoad", await state.Content.ReadAsStringAsync());
    }
}
