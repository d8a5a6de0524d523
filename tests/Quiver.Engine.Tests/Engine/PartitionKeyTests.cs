using Quiver.Shards;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Partition keys (<see cref="PartitionKeys"/>): rows land in the partition their key hashes to (live and after
/// replay), reads whose filter pins the key read only those partitions and answer exactly as a brute-force oracle over
/// every row, and Milvus's refusals (partition DDL, partition names in writes and reads, schema rules).</summary>
public sealed class PartitionKeyTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly List<(long Id, string Tenant, float[] Vec)> _rows = [];

    public void Dispose() => _dir.Dispose();

    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };

    private static CollectionSchema Schema(int partitions = 8) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("tenant", 16) with { IsPartitionKey = true },
            FieldSchema.Vector("vec", 3, MetricType.L2),
        ],
        NumPartitions = partitions,
    };

    [Fact]
    public async Task Rows_LandInTheirKeysPartition_AndReadsMatchTheOracle_AcrossReopen()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            await db.CreateCollectionAsync("c", Schema());
            Assert.Equal(Enumerable.Range(0, 8).Select(i => $"_default_{i}"), await db.ListPartitionsAsync("c"));
            await InsertAsync(db, 0, 300);
            await db.FlushAsync("c");
            await InsertAsync(db, 300, 100);
            await AssertPlacementAsync(db);
            await AssertReadsAsync(db);
        }

        // Replay routes the growing rows again, identically; the sealed ones stay where they were.
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            await AssertPlacementAsync(db);
            await AssertReadsAsync(db);

            // An upsert that changes a row's key moves it: the old row is gone from its partition.
            var moved = _rows[5] with { Tenant = "t_moved" };
            await db.UpsertAsync("c", [Row(moved)]);
            _rows[5] = moved;
            await AssertPlacementAsync(db);
            await AssertReadsAsync(db);
        }
    }

    [Fact]
    public async Task Insert_WithOneExistingKey_IsRefusedWhole()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        await InsertAsync(db, 0, 50);
        var batch = Enumerable.Range(50, 20).Select(i => Row((i, $"t{i % 7}", [i, 0, 0]))).Append(Row((3, "t_other", [0, 0, 0]))).ToList();
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", batch));
        Assert.Equal(QuiverErrorCode.AlreadyExists, ex.Code);
        Assert.Equal(50L, (await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"]);
    }

    [Fact]
    public void ReadScope_PrunesOnlyWhenTheFilterPinsTheKey()
    {
        var meta = new Catalog.CollectionMeta
        {
            Id = 1,
            Database = "default",
            Name = "c",
            Schema = Schema(),
            CreatedTimestamp = 0,
            Partitions = [.. Enumerable.Range(0, 8).Select(i => new Catalog.PartitionMeta { Id = 10 + i, Name = $"_default_{i}" })],
        };
        string P(string tenant) => $"_default_{PartitionKeys.PartitionOf(tenant, 8)}";
        IReadOnlyList<string> Scope(string filter) =>
            PartitionKeys.ReadScope(meta, [], Quiver.Filtering.FilterPlan.Compile(filter, meta.Schema, null));

        Assert.Equal([P("a")], Scope("tenant == \"a\""));
        Assert.Equal([P("a")], Scope("\"a\" == tenant and id > 3"));
        Assert.Equal(new[] { P("a"), P("b"), P("c") }.Distinct().Order(StringComparer.Ordinal), Scope("tenant in [\"a\", \"b\", \"c\"]"));
        Assert.Equal(new[] { P("a"), P("b") }.Distinct().Order(StringComparer.Ordinal), Scope("(tenant == \"a\" or tenant == \"b\") and id < 9"));
        Assert.Equal([P("b")], Scope("tenant in [\"a\", \"b\"] and tenant == \"b\""));
        Assert.Empty(Scope("tenant == \"a\" or id > 3"));
        Assert.Empty(Scope("tenant != \"a\""));
        Assert.Empty(Scope("tenant not in [\"a\"]"));
        Assert.Empty(Scope("id > 3"));
        Assert.Empty(PartitionKeys.ReadScope(meta, [], null));
        var ex = Assert.Throws<QuiverException>(() => PartitionKeys.ReadScope(meta, ["_default_1"], null));
        Assert.Equal(PartitionKeys.NamesRefused, ex.Message);
    }

    [Fact]
    public async Task PartitionApis_AreRefusedAsMilvusRefusesThem()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema() with { NumPartitions = 0 });
        Assert.Equal(PartitionKeys.DefaultPartitions, (await db.ListPartitionsAsync("c")).Count);
        Assert.Equal(PartitionKeys.DefaultPartitions, (await db.DescribeCollectionAsync("c")).Schema.NumPartitions);

        await AssertRefusedAsync("disable create partition if partition key mode is used", () => db.CreatePartitionAsync("c", "p1"));
        await AssertRefusedAsync("disable drop partition if partition key mode is used", () => db.DropPartitionAsync("c", "_default_1"));
        await AssertRefusedAsync(PartitionKeys.NamesRefused, () => db.InsertAsync("c", [Row((1, "a", [1, 0, 0]))], "_default_1"));
        await AssertRefusedAsync(PartitionKeys.NamesRefused, () => db.UpsertAsync("c", [Row((1, "a", [1, 0, 0]))], "_default_1"));
        await AssertRefusedAsync(PartitionKeys.NamesRefused,
            () => db.QueryAsync("c", new QueryRequest { Filter = "id > 0", Partitions = ["_default_1"] }));
        await AssertRefusedAsync(PartitionKeys.NamesRefused,
            () => db.SearchAsync("c", new SearchRequest { Vectors = [[1, 0, 0]], Limit = 1, Partitions = ["_default_1"] }));
    }

    [Theory]
    [InlineData("two", "there are more than one partition key")]
    [InlineData("float", "the data type of partition key should be Int64 or VarChar")]
    [InlineData("primary", "the partition key field must not be primary field")]
    [InlineData("nullable", "partition key field not support nullable")]
    [InlineData("no-key", "num_partitions should only be specified with partition key field enabled")]
    [InlineData("too-many", "partition number (1025) must be between 1 and 1024")]
    public async Task BadPartitionKeySchemas_AreRefused(string which, string message)
    {
        var schema = which switch
        {
            "two" => Schema() with { Fields = Schema().Fields.Add(FieldSchema.Scalar("k2", DataType.Int64) with { IsPartitionKey = true }) },
            "float" => Schema() with { Fields = Schema().Fields.SetItem(1, FieldSchema.Scalar("tenant", DataType.Double) with { IsPartitionKey = true }) },
            "primary" => Schema() with { Fields = Schema().Fields.SetItem(0, FieldSchema.Int64Key("id") with { IsPartitionKey = true }) },
            "nullable" => Schema() with { Fields = Schema().Fields.SetItem(1, FieldSchema.VarChar("tenant", 16, nullable: true) with { IsPartitionKey = true }) },
            "no-key" => Schema() with { Fields = Schema().Fields.SetItem(1, FieldSchema.VarChar("tenant", 16)) },
            _ => Schema(1025),
        };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await AssertRefusedAsync(message, () => db.CreateCollectionAsync("c", schema));
        Assert.False(await db.HasCollectionAsync("c"));
    }

    private static async Task AssertRefusedAsync(string message, Func<Task> action)
    {
        var ex = await Assert.ThrowsAsync<QuiverException>(action);
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    private async Task InsertAsync(QuiverEngine db, int first, int count)
    {
        var rng = new Random(first + 7);
        var rows = new List<Row>();
        for (var i = first; i < first + count; i++)
        {
            var row = ((long)i, $"t{rng.Next(40)}", new[] { (float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble() });
            _rows.Add(row);
            rows.Add(Row(row));
        }

        await db.InsertAsync("c", rows);
    }

    /// <summary>Each partition holds exactly the live rows whose key hashes to it.</summary>
    private async Task AssertPlacementAsync(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        var names = await db.ListPartitionsAsync("c");
        for (var p = 0; p < names.Count; p++)
        {
            using var view = shard.AcquireView([names[p]]);
            var ids = new List<long>();
            foreach (var snap in view.Segments)
            {
                var allowed = Quiver.Search.QueryExecutor.Allowed(snap, view.Timestamp, null);
                var keys = snap.GetColumn(0);
                for (var r = allowed.Next(0); r >= 0; r = allowed.Next(r + 1))
                {
                    ids.Add((long)keys.GetValue(r)!);
                }
            }

            var expected = _rows.Where(x => PartitionKeys.PartitionOf(x.Tenant, names.Count) == p).Select(x => x.Id).Order();
            Assert.Equal(expected, ids.Order());
        }
    }

    private async Task AssertReadsAsync(QuiverEngine db)
    {
        float[] q = [0.3f, 0.6f, 0.1f];
        foreach (var filter in new[] { "tenant == \"t3\"", "tenant in [\"t1\", \"t17\", \"t_moved\"]", "tenant == \"t5\" and id < 200", "tenant == \"t8\" or id < 20", "tenant == \"nobody\"" })
        {
            var oracle = _rows.Where(Matches(filter)).ToList();
            var got = await db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["tenant"] });
            Assert.Equal(oracle.Select(r => r.Id).Order(), got.Select(r => (long)r["id"]!).Order());
            var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 500, Filter = filter })).Hits[0];
            Assert.Equal(oracle.OrderBy(r => L2(r.Vec, q)).Select(r => r.Id), hits.Select(h => (long)h.Id));
        }
    }

    private static Func<(long Id, string Tenant, float[] Vec), bool> Matches(string filter) => filter switch
    {
        "tenant == \"t3\"" => r => r.Tenant == "t3",
        "tenant in [\"t1\", \"t17\", \"t_moved\"]" => r => r.Tenant is "t1" or "t17" or "t_moved",
        "tenant == \"t5\" and id < 200" => r => r.Tenant == "t5" && r.Id < 200,
        "tenant == \"t8\" or id < 20" => r => r.Tenant == "t8" || r.Id < 20,
        _ => _ => false,
    };

    private static float L2(float[] a, float[] b)
    {
        var s = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }

        return s;
    }

    private static Row Row((long Id, string Tenant, float[] Vec) r) => new() { ["id"] = r.Id, ["tenant"] = r.Tenant, ["vec"] = r.Vec };
}
