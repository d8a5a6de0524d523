using System.Globalization;
using System.Text;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Model;

/// <summary>One configuration of the model-based test.</summary>
public sealed record ModelConfig(bool StringKeys, MetricType Metric, bool Background, int Seed, int Steps)
{
    /// <summary>How the engine's IVF builds seed k-means; null: the engine's default.</summary>
    internal global::Quiver.Indexing.KMeansInit? KMeansInit { get; init; }

    /// <summary>False: approximate indexes' recall over the run is measured (<see cref="ModelRunner.Recall"/>) and not
    /// held to their thresholds (a measurement of the recall's spread over seeds).</summary>
    public bool CheckRecall { get; init; } = true;

    public override string ToString() =>
        $"{(StringKeys ? "VarChar" : "Int64")} keys, {Metric}, background maintenance {(Background ? "on" : "off")}, seed {Seed}, {Steps} steps";
}

/// <summary>Drives random operations against the engine and a plain dictionary of key to row, and compares them.
/// Every failure message carries the configuration (with the seed) and the operations so far, which replay it.</summary>
internal sealed class ModelRunner : IAsyncDisposable
{
    public const int KeySpace = 300;
    private const string Collection = "model";
    private const int Dim = 6;

    private readonly ModelConfig _config;
    private readonly Random _rng;
    private readonly TempFolder _folder = new("quiver-model");
    private readonly Dictionary<object, ModelRow> _rows = [];
    private readonly List<string> _partitions = [QuiverEngine.DefaultPartition];
    private readonly List<string> _log = [];
    private readonly QuiverOptions _options;
    private QuiverEngine? _db;
    private int _nextPartition;
    private int _step;
    private IndexKind? _index;

    /// <summary>A vector index the model creates and drops between steps, with the search parameters its searches use
    /// (chosen small enough that the planner's cost model sends some searches of the model's small segments through the
    /// index; most still take its exact fallback, growing segments and segments not yet indexed are searched exactly, and
    /// all of that is what the model checks). FLAT (<see cref="MinRecall"/> 1) must answer exactly like the oracle; the
    /// approximate kinds return live matching rows (with their true scores where the index keeps raw vectors) and reach
    /// <see cref="MinRecall"/> over the whole run. A search with <c>exact</c> must equal the oracle whatever the index.</summary>
    private sealed record IndexKind(string Type, Dictionary<string, string> Build, Dictionary<string, string> Search, double MinRecall, bool TrueScores)
    {
        public bool Exact => MinRecall >= 1;

        public override string ToString() => Type;
    }

    private static readonly IndexKind[] IndexKinds =
    [
        new("FLAT", [], [], MinRecall: 1, TrueScores: true),
        new("HNSW", new() { ["M"] = "4", ["efConstruction"] = "64" }, new() { ["ef"] = "8" }, MinRecall: 0.9, TrueScores: true),
        new("IVF_FLAT", new() { ["nlist"] = "8" }, new() { ["nprobe"] = "2" }, MinRecall: 0.9, TrueScores: true),
        new("IVF_SQ8", new() { ["nlist"] = "8" }, new() { ["nprobe"] = "2" }, MinRecall: 0.9, TrueScores: false),
        new("IVF_PQ", new() { ["nlist"] = "4", ["m"] = "3", ["nbits"] = "4" }, new() { ["nprobe"] = "1", ["refine_k"] = "2" }, MinRecall: 0.9, TrueScores: false),
    ];

    private readonly Dictionary<string, (long Found, long Wanted)> _recall = new(StringComparer.Ordinal);

    public ModelRunner(ModelConfig config)
    {
        _config = config;
        _rng = new Random(config.Seed);
        _options = new QuiverOptions
        {
            Durability = DurabilityMode.Never,
            // A few dozen rows a segment and a few segments a merge, counted in bytes, so that the byte-sized seal and
            // compaction both happen many times in a run.
            SegmentSealBytes = 4 << 10,
            SegmentMaxBytes = 16 << 10,
            BackgroundMaintenance = config.Background,
        };
        if (config.KMeansInit is { } init)
        {
            _options = _options with { IvfKMeansInit = init };
        }
    }

    /// <summary>Per approximate index type: hits found and wanted over the run (its recall@k).</summary>
    public IReadOnlyDictionary<string, (long Found, long Wanted)> Recall => _recall;

    /// <summary>Counts of operations done, by kind, for the test output.</summary>
    public SortedDictionary<string, int> Stats { get; } = new(StringComparer.Ordinal);

    private QuiverEngine Db => _db!;

    public static string StringKey(long i) => "k" + i.ToString("D4", CultureInfo.InvariantCulture);

    public async Task RunAsync()
    {
        _db = await QuiverEngine.OpenAsync(_folder.Path, _options);
        await Db.CreateCollectionAsync(Collection, ModelRow.Schema(_config.StringKeys, _config.Metric, Dim));
        for (_step = 0; _step < _config.Steps; _step++)
        {
            var roll = _rng.Next(100);
            var kind = roll switch
            {
                < 35 => "insert",
                < 50 => "upsert",
                < 60 => "delete keys",
                < 66 => "delete filter",
                < 73 => "flush",
                < 79 => "compact",
                < 84 => "reopen",
                < 89 => "create partition",
                < 92 => "drop partition",
                < 96 => "index",
                _ => "check only",
            };
            Stats[kind] = Stats.GetValueOrDefault(kind) + 1;
            switch (kind)
            {
                case "insert":
                    await InsertAsync();
                    break;
                case "upsert":
                    await UpsertAsync();
                    break;
                case "delete keys":
                    await DeleteKeysAsync();
                    break;
                case "delete filter":
                    await DeleteWhereAsync();
                    break;
                case "flush":
                    Log("flush");
                    await Db.FlushAsync(Collection);
                    break;
                case "compact":
                    Log("compact");
                    Stats["segments merged"] = Stats.GetValueOrDefault("segments merged") + await Db.CompactAsync(Collection);
                    break;
                case "reopen":
                    await ReopenAsync();
                    break;
                case "create partition":
                    await CreatePartitionAsync();
                    break;
                case "drop partition":
                    await DropPartitionAsync();
                    break;
                case "index":
                    await ChangeIndexAsync();
                    break;
            }

            await CheckCountAndKeysAsync();
            if (_index is not null)
            {
                // Unfiltered searches are the ones the planner sends through an index on segments this small.
                await CheckSearchAsync(null);
            }

            if (_step % 5 == 4 || kind is "reopen" or "check only")
            {
                await CheckEverythingAsync();
            }
        }

        await CheckEverythingAsync();
        await ReopenAsync();
        await CheckEverythingAsync();
        foreach (var (type, (found, wanted)) in _recall)
        {
            Stats[$"recall per mille {type} (of {wanted})"] = (int)Math.Round(1000.0 * found / Math.Max(1, wanted));
            var min = IndexKinds.Single(k => k.Type == type).MinRecall;
            Require(!_config.CheckRecall || wanted == 0 || (double)found / wanted >= min, $"{type}: recall@k over the run is {(double)found / wanted:F3} ({found} of {wanted}), below {min}");
        }
    }

    /// <summary>Creates an index when there is none; otherwise drops it, and half of the time creates another kind.</summary>
    private async Task ChangeIndexAsync()
    {
        if (_index is not null)
        {
            Log($"drop index {_index}");
            await Db.DropIndexAsync(Collection);
            _index = null;
            if (_rng.Next(2) == 0)
            {
                return;
            }
        }

        var kind = IndexKinds[_rng.Next(IndexKinds.Length)];
        Log($"create index {kind}");
        await Db.CreateIndexAsync(Collection, new IndexDefinition { FieldName = "vec", IndexType = kind.Type, Params = kind.Build });
        _index = kind;
        Stats["index " + kind.Type] = Stats.GetValueOrDefault("index " + kind.Type) + 1;
        if (_rng.Next(2) == 0)
        {
            // Half of the time every sealed segment has the index before the next search; otherwise searches race the
            // builds and mix indexed segments with exactly searched ones.
            Log("wait for index");
            using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await Db.WaitForIndexAsync(Collection, cancellationToken: guard.Token);
        }
    }

    private object RandomKey()
    {
        var i = _rng.Next(KeySpace);
        return _config.StringKeys ? StringKey(i) : (long)i;
    }

    private object FreshKey()
    {
        for (var attempt = 0; ; attempt++)
        {
            var k = RandomKey();
            if (!_rows.ContainsKey(k) || attempt > 1000)
            {
                return k;
            }
        }
    }

    private string RandomPartition() => _partitions[_rng.Next(_partitions.Count)];

    private async Task InsertAsync()
    {
        var partition = RandomPartition();
        var count = _rng.Next(1, 13);
        var batch = new List<ModelRow>();
        for (var i = 0; i < count; i++)
        {
            var k = FreshKey();
            if (!_rows.ContainsKey(k) && batch.All(b => !Equals(b.Key, k)))
            {
                batch.Add(ModelRow.Random(_rng, k, partition, Dim));
            }
        }

        var fault = _rng.Next(10);
        QuiverErrorCode? expected = null;
        if (fault == 0 && _rows.Count > 0)
        {
            // An existing key (maybe in another partition): the whole batch is refused.
            var existing = _rows.Keys.ElementAt(_rng.Next(_rows.Count));
            batch.Insert(_rng.Next(batch.Count + 1), ModelRow.Random(_rng, existing, partition, Dim));
            expected = QuiverErrorCode.AlreadyExists;
        }
        else if (fault == 1 && batch.Count > 0)
        {
            batch.Add(ModelRow.Random(_rng, batch[_rng.Next(batch.Count)].Key, partition, Dim));
            expected = QuiverErrorCode.InvalidArgument;
        }

        if (batch.Count == 0)
        {
            return;
        }

        Log($"insert into {partition}: {Keys(batch)}{(expected is null ? "" : $" (expect {expected})")}");
        if (expected is { } code)
        {
            var ex = await Assert.ThrowsAnyAsync<QuiverException>(() => Db.InsertAsync(Collection, [.. batch.Select(b => b.ToEngineRow())], partition));
            Require(ex.Code == code, $"insert expected {code}, got {ex.Code}: {ex.Message}");
            await CheckNoTraceAsync(batch);
            return;
        }

        var result = await Db.InsertAsync(Collection, [.. batch.Select(b => b.ToEngineRow())], partition);
        Require(result.Count == batch.Count, $"insert reported {result.Count} rows, expected {batch.Count}");
        foreach (var row in batch)
        {
            _rows[row.Key] = row;
        }
    }

    /// <summary>After a refused batch: its new keys are absent and its existing keys still hold the model's row.</summary>
    private async Task CheckNoTraceAsync(List<ModelRow> batch)
    {
        var got = await Db.GetAsync(Collection, [.. batch.Select(b => b.Key).Distinct()], ["*"]);
        foreach (var row in got)
        {
            var key = row[_config.StringKeys ? "pk" : "id"]!;
            Require(_rows.TryGetValue(key, out var expected), $"refused insert left key {key} behind");
            Require(expected!.Difference(row) is null, $"refused insert changed an existing row: {expected.Difference(row)}");
        }
    }

    private async Task UpsertAsync()
    {
        var partition = RandomPartition();
        var count = _rng.Next(1, 11);
        var batch = new List<ModelRow>();
        for (var i = 0; i < count; i++)
        {
            var k = _rng.Next(2) == 0 && _rows.Count > 0 ? _rows.Keys.ElementAt(_rng.Next(_rows.Count)) : RandomKey();
            if (batch.All(b => !Equals(b.Key, k)))
            {
                batch.Add(ModelRow.Random(_rng, k, partition, Dim));
            }
        }

        if (_rng.Next(15) == 0)
        {
            batch.Add(ModelRow.Random(_rng, batch[0].Key, partition, Dim));
            Log($"upsert into {partition}: {Keys(batch)} (expect InvalidArgument)");
            var ex = await Assert.ThrowsAnyAsync<QuiverException>(() => Db.UpsertAsync(Collection, [.. batch.Select(b => b.ToEngineRow())], partition));
            Require(ex.Code == QuiverErrorCode.InvalidArgument, $"upsert with a repeated key expected InvalidArgument, got {ex.Code}: {ex.Message}");
            await CheckNoTraceAsync(batch);
            return;
        }

        Log($"upsert into {partition}: {Keys(batch)}");
        var result = await Db.UpsertAsync(Collection, [.. batch.Select(b => b.ToEngineRow())], partition);
        Require(result.Count == batch.Count, $"upsert reported {result.Count} rows, expected {batch.Count}");
        foreach (var row in batch)
        {
            _rows[row.Key] = row;
        }
    }

    private async Task DeleteKeysAsync()
    {
        var keys = Enumerable.Range(0, _rng.Next(1, 9))
            .Select(_ => _rng.Next(3) > 0 && _rows.Count > 0 ? _rows.Keys.ElementAt(_rng.Next(_rows.Count)) : RandomKey())
            .Distinct().ToList();
        var partition = _rng.Next(3) == 0 ? RandomPartition() : null;
        var doomed = keys.Where(k => _rows.TryGetValue(k, out var r) && (partition is null || r.Partition == partition)).ToList();
        Log($"delete keys {string.Join(",", keys)}{(partition is null ? "" : $" in {partition}")} (model deletes {doomed.Count})");
        var result = await Db.DeleteAsync(Collection, keys, partition);
        foreach (var k in doomed)
        {
            _rows.Remove(k);
        }

        Require(result.Count == doomed.Count, $"delete by keys reported {result.Count}, the model deleted {doomed.Count}");
    }

    private async Task DeleteWhereAsync()
    {
        var filter = ModelFilters.Generate(_rng, _config.StringKeys);
        var partition = _rng.Next(3) == 0 ? RandomPartition() : null;
        var doomed = _rows.Values.Where(r => filter.Matches(r) && (partition is null || r.Partition == partition)).Select(r => r.Key).ToList();
        Log($"delete where {filter.Text}{(partition is null ? "" : $" in {partition}")} (model deletes {doomed.Count})");
        var result = await Db.DeleteWhereAsync(Collection, filter.Text, partition: partition);
        foreach (var k in doomed)
        {
            _rows.Remove(k);
        }

        Require(result.Count == doomed.Count, $"delete by filter reported {result.Count}, the model deleted {doomed.Count}");
    }

    private async Task ReopenAsync()
    {
        Log("reopen");
        await Db.DisposeAsync();
        _db = await QuiverEngine.OpenAsync(_folder.Path, _options);
        Require(Db.RecoveryNotes.IsEmpty, $"a clean close left recovery notes: {string.Join("; ", Db.RecoveryNotes)}");
    }

    private async Task CreatePartitionAsync()
    {
        if (_partitions.Count >= 4)
        {
            return;
        }

        var name = "p" + _nextPartition++.ToString(CultureInfo.InvariantCulture);
        Log($"create partition {name}");
        await Db.CreatePartitionAsync(Collection, name);
        _partitions.Add(name);
    }

    private async Task DropPartitionAsync()
    {
        if (_partitions.Count < 2)
        {
            return;
        }

        var name = _partitions[_rng.Next(1, _partitions.Count)];
        Log($"drop partition {name} (model drops {_rows.Values.Count(r => r.Partition == name)} rows)");
        await Db.DropPartitionAsync(Collection, name);
        _partitions.Remove(name);
        foreach (var k in _rows.Values.Where(r => r.Partition == name).Select(r => r.Key).ToList())
        {
            _rows.Remove(k);
        }
    }

    /// <summary>Cheap checks after every step: count(*) and a few point reads of present and absent keys.</summary>
    private async Task CheckCountAndKeysAsync()
    {
        var count = await Db.QueryAsync(Collection, new QueryRequest { OutputFields = ["count(*)"] });
        Require(count[0]["count(*)"] is long c && c == _rows.Count, $"count(*) is {count[0]["count(*)"]}, the model has {_rows.Count}");
        var keys = Enumerable.Range(0, 6).Select(_ => RandomKey()).Distinct().ToList();
        var got = await Db.GetAsync(Collection, keys, ["*"]);
        var expected = keys.Where(_rows.ContainsKey).ToList();
        var gotKeys = got.Select(r => r[_config.StringKeys ? "pk" : "id"]!).ToList();
        Require(gotKeys.SequenceEqual(expected), $"get [{string.Join(",", keys)}] returned [{string.Join(",", gotKeys)}], the model has [{string.Join(",", expected)}]");
        foreach (var row in got)
        {
            var diff = _rows[row[_config.StringKeys ? "pk" : "id"]!].Difference(row);
            Require(diff is null, $"get: {diff}");
        }
    }

    /// <summary>Full checks: every row, random filter queries (per partition too), filtered and unfiltered search.</summary>
    private async Task CheckEverythingAsync()
    {
        var all = await Db.QueryAsync(Collection, new QueryRequest { Limit = 16_384, OutputFields = ["*"] });
        CompareRows("query of all rows", all, _rows.Values);

        for (var i = 0; i < 4; i++)
        {
            var filter = ModelFilters.Generate(_rng, _config.StringKeys);
            var partitions = _rng.Next(4) == 0 ? new[] { RandomPartition() } : [];
            var expected = _rows.Values.Where(r => filter.Matches(r) && (partitions.Length == 0 || partitions.Contains(r.Partition))).ToList();
            var got = await Db.QueryAsync(Collection, new QueryRequest { Filter = filter.Text, OutputFields = ["*"], Partitions = partitions });
            Stats["rows matched by filter queries"] = Stats.GetValueOrDefault("rows matched by filter queries") + expected.Count;
            CompareRows($"query '{filter.Text}'{(partitions.Length > 0 ? $" in {partitions[0]}" : "")}", got, expected);
            var count = await Db.QueryAsync(Collection, new QueryRequest { Filter = filter.Text, OutputFields = ["count(*)"], Partitions = partitions });
            Require(count[0]["count(*)"] is long c && c == expected.Count, $"count(*) where '{filter.Text}' is {count[0]["count(*)"]}, the model has {expected.Count}");
        }

        for (var i = 0; i < 3; i++)
        {
            await CheckSearchAsync(i == 0 ? null : ModelFilters.Generate(_rng, _config.StringKeys));
        }
    }

    /// <summary>Searches twice: with <c>exact</c> (the planner's exact path, whatever index exists), which must equal the
    /// oracle; and with the index's own parameters, which must equal it too when the index is exact (or absent), and
    /// otherwise return live matching rows with their true scores, counted towards the run's recall.</summary>
    private async Task CheckSearchAsync(ModelFilter? filter)
    {
        var metric = _config.Metric;
        var query = _rows.Count > 0 && _rng.Next(4) == 0 ? _rows.Values.ElementAt(_rng.Next(_rows.Count)).Vec : TestData.Vector(_rng, Dim);
        var k = _rng.Next(1, 16);
        var candidates = _rows.Values.Where(r => filter is null || filter.Matches(r)).ToList();
        var oracle = BruteForce.TopK(candidates.Select(r => (r.Key, r.Vec)), query, metric, k);
        var what = $"search k={k}{(filter is null ? "" : $" where '{filter.Text}'")}";
        var exact = await Db.SearchAsync(Collection, new SearchRequest
        {
            Vectors = [query], Limit = k, Filter = filter?.Text ?? "", SearchParams = new Dictionary<string, string> { ["exact"] = "true" },
        });
        CheckHits($"{what} (exact)", query, filter, exact.Hits[0], oracle, exactRanks: true, trueScores: true);
        Require(exact.Stats() is not { IndexedSegments: > 0 }, $"{what}: a search with exact=true went through an index");
        var index = _index;
        var result = await Db.SearchAsync(Collection, new SearchRequest { Vectors = [query], Limit = k, Filter = filter?.Text ?? "", SearchParams = index?.Search ?? [] });
        CheckHits($"{what} (index {index?.Type ?? "none"})", query, filter, result.Hits[0], oracle, exactRanks: index is null || index.Exact, trueScores: index?.TrueScores ?? true);
        if (result.Stats() is { } stats)
        {
            Stats["segments searched by index"] = Stats.GetValueOrDefault("segments searched by index") + stats.IndexedSegments;
            Stats["segments searched exactly"] = Stats.GetValueOrDefault("segments searched exactly") + stats.ExactSegments;
        }

        if (index is { Exact: false })
        {
            var found = result.Hits[0].Count(h => oracle.Any(o => Equals(o.Key, h.Id)));
            var (f, w) = _recall.GetValueOrDefault(index.Type);
            _recall[index.Type] = (f + found, w + oracle.Count);
        }
    }

    private void CheckHits(string what, float[] query, ModelFilter? filter, IReadOnlyList<SearchHit> hits, List<(object Key, double Score)> oracle, bool exactRanks, bool trueScores)
    {
        var metric = _config.Metric;
        Stats["search hits checked"] = Stats.GetValueOrDefault("search hits checked") + hits.Count;
        Require(exactRanks ? hits.Count == oracle.Count : hits.Count <= oracle.Count, $"{what}: {hits.Count} hits, the oracle has {oracle.Count}");
        var seen = new HashSet<object>();
        for (var i = 0; i < hits.Count; i++)
        {
            var hit = hits[i];
            Require(seen.Add(hit.Id), $"{what}: id {hit.Id} returned twice");
            Require(_rows.TryGetValue(hit.Id, out var row), $"{what}: hit {hit.Id} is not a live row of the model");
            Require(filter is null || filter.Matches(row!), $"{what}: hit {hit.Id} does not match the filter");
            var trueScore = BruteForce.Score(metric, query, row!.Vec);
            var tol = BruteForce.Tolerance(metric, query, row.Vec);
            Require(!trueScores || Math.Abs(trueScore - hit.Score) <= tol, $"{what}: hit {hit.Id} has score {hit.Score}, its true score is {trueScore}");
            if (!exactRanks)
            {
                continue;
            }

            var oracleRow = _rows[oracle[i].Key];
            var rankTol = tol + BruteForce.Tolerance(metric, query, oracleRow.Vec);
            Require(Math.Abs(oracle[i].Score - hit.Score) <= rankTol,
                $"{what}: hit {i} ({hit.Id}) has score {hit.Score}, the oracle's hit {i} ({oracle[i].Key}) has {oracle[i].Score}");
        }
    }

    private void CompareRows(string what, IReadOnlyList<Row> got, IEnumerable<ModelRow> expected)
    {
        var keyField = _config.StringKeys ? "pk" : "id";
        var byKey = new Dictionary<object, Row>();
        foreach (var row in got)
        {
            Require(byKey.TryAdd(row[keyField]!, row), $"{what}: key {row[keyField]} returned twice");
        }

        var want = expected.ToDictionary(r => r.Key);
        var missing = want.Keys.Where(k => !byKey.ContainsKey(k)).ToList();
        var extra = byKey.Keys.Where(k => !want.ContainsKey(k)).ToList();
        Require(missing.Count == 0 && extra.Count == 0,
            $"{what}: {got.Count} rows, the model has {want.Count}; missing [{string.Join(",", missing)}], extra [{string.Join(",", extra)}]");
        foreach (var (key, row) in byKey)
        {
            var diff = want[key].Difference(row);
            Require(diff is null, $"{what}: {diff}");
        }
    }

    private static string Keys(IEnumerable<ModelRow> rows) => string.Join(",", rows.Select(r => r.Key));

    private void Log(string op) => _log.Add($"#{_step}: {op}");

    private void Require(bool condition, string message)
    {
        if (condition)
        {
            return;
        }

        var history = new StringBuilder();
        foreach (var line in _log.Skip(Math.Max(0, _log.Count - 40)))
        {
            history.AppendLine("  " + line);
        }

        Assert.Fail($"[{_config}] step {_step}: {message}\nlast operations (of {_log.Count}):\n{history}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_db is not null)
        {
            await _db.DisposeAsync();
        }

        _folder.Dispose();
    }
}
