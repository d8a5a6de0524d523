using System.Globalization;

namespace Quiver.Testing;

/// <summary>What a step of the crash workload does.</summary>
public enum CrashOpKind
{
    /// <summary>Creates the collection (always step 0).</summary>
    CreateCollection,
    /// <summary>Inserts one batch of ten fresh keys.</summary>
    Insert,
    /// <summary>Upserts a few earlier keys with a new version of their content.</summary>
    Upsert,
    /// <summary>Deletes a few earlier keys (some may be gone already).</summary>
    DeleteKeys,
    /// <summary>Deletes the even keys of one earlier batch by filter.</summary>
    DeleteWhere,
    /// <summary>Seals growing segments and checkpoints the WAL.</summary>
    Flush,
    /// <summary>Merges small segments and drops deleted rows.</summary>
    Compact,
}

/// <summary>One step of the crash workload. <see cref="Keys"/> are the rows it writes or deletes; <see cref="Group"/>
/// is the batch a DeleteWhere targets.</summary>
public sealed record CrashOp(int Step, CrashOpKind Kind, IReadOnlyList<long> Keys, int Group)
{
    /// <summary>The one-line description printed by the crash host.</summary>
    public override string ToString() => Kind switch
    {
        CrashOpKind.Insert or CrashOpKind.Upsert or CrashOpKind.DeleteKeys =>
            $"{Kind} keys={string.Join(',', Keys.Select(k => k.ToString(CultureInfo.InvariantCulture)))}",
        CrashOpKind.DeleteWhere => $"{Kind} group={Group}",
        _ => Kind.ToString(),
    };
}

/// <summary>The scripted workload of the crash test, shared by the host process that runs it (and gets killed) and the
/// test that checks the folder afterwards. Everything is a pure function of the seed, so the test can rebuild the exact
/// expected state after any prefix of acknowledged steps. Row content is a function of (seed, key, version), where the
/// version is the step that last wrote the key.</summary>
public static class CrashWorkload
{
    public const string Collection = "crash";
    public const int Dimension = 4;
    public const int BatchSize = 10;

    /// <summary>id (Int64 key), grp (Int64: the insert batch), parity (Int32: id % 2), ver (Int32: the writing step),
    /// tag (VarChar), vec (FloatVector 4, L2).</summary>
    public static CollectionSchema Schema { get; } = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("grp", DataType.Int64),
            FieldSchema.Scalar("parity", DataType.Int32),
            FieldSchema.Scalar("ver", DataType.Int32),
            FieldSchema.VarChar("tag", 64),
            FieldSchema.Vector("vec", Dimension, MetricType.L2),
        ],
    };

    /// <summary>Small segments so that seals and merges happen within a short run; background maintenance on odd seeds.</summary>
    public static QuiverOptions Options(int seed) => new()
    {
        Durability = DurabilityMode.Always,
        SegmentSealBytes = 2 << 10,
        SegmentMaxBytes = 8 << 10,
        BackgroundMaintenance = seed % 2 == 1,
    };

    /// <summary>The steps for a seed: step 0 creates the collection, then a mix of inserts (about half), upserts,
    /// deletes by key and by filter, flushes and compactions.</summary>
    public static IReadOnlyList<CrashOp> Script(int seed, int steps)
    {
        var rng = new Random(seed);
        var ops = new List<CrashOp>(steps) { new(0, CrashOpKind.CreateCollection, [], -1) };
        var batches = 0;
        for (var step = 1; step < steps; step++)
        {
            var roll = rng.Next(100);
            CrashOp op;
            if (batches < 2 || roll < 50)
            {
                var first = (long)batches * BatchSize;
                op = new CrashOp(step, CrashOpKind.Insert, [.. Enumerable.Range(0, BatchSize).Select(i => first + i)], batches);
                batches++;
            }
            else if (roll < 65)
            {
                op = new CrashOp(step, CrashOpKind.Upsert, PickKeys(rng, batches, 5), -1);
            }
            else if (roll < 80)
            {
                op = new CrashOp(step, CrashOpKind.DeleteKeys, PickKeys(rng, batches, 4), -1);
            }
            else if (roll < 88)
            {
                op = new CrashOp(step, CrashOpKind.DeleteWhere, [], rng.Next(batches));
            }
            else if (roll < 95)
            {
                op = new CrashOp(step, CrashOpKind.Flush, [], -1);
            }
            else
            {
                op = new CrashOp(step, CrashOpKind.Compact, [], -1);
            }

            ops.Add(op);
        }

        return ops;
    }

    private static long[] PickKeys(Random rng, int batches, int count)
    {
        var keys = new SortedSet<long>();
        while (keys.Count < count)
        {
            keys.Add(rng.NextInt64((long)batches * BatchSize));
        }

        return [.. keys];
    }

    /// <summary>The content of <paramref name="key"/> as written by step <paramref name="version"/>.</summary>
    public static Row RowFor(int seed, long key, int version)
    {
        // Not HashCode.Combine: it is randomized per process, and the host and the test are two processes.
        var rng = new Random(unchecked((int)((seed * 1_000_003L) ^ (key * 7919L) ^ (version * 104_729L))));
        return new Row
        {
            ["id"] = key,
            ["grp"] = key / BatchSize,
            ["parity"] = (int)(key % 2),
            ["ver"] = version,
            ["tag"] = string.Create(CultureInfo.InvariantCulture, $"k{key}-v{version}-{rng.Next(1000)}"),
            ["vec"] = TestData.Vector(rng, Dimension),
        };
    }

    /// <summary>Runs one step against the engine.</summary>
    public static async Task RunAsync(QuiverEngine db, int seed, CrashOp op, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(op);
        switch (op.Kind)
        {
            case CrashOpKind.CreateCollection:
                await db.CreateCollectionAsync(Collection, Schema, cancellationToken: cancellationToken);
                break;
            case CrashOpKind.Insert:
                await db.InsertAsync(Collection, [.. op.Keys.Select(k => RowFor(seed, k, op.Step))], cancellationToken: cancellationToken);
                break;
            case CrashOpKind.Upsert:
                await db.UpsertAsync(Collection, [.. op.Keys.Select(k => RowFor(seed, k, op.Step))], cancellationToken: cancellationToken);
                break;
            case CrashOpKind.DeleteKeys:
                await db.DeleteAsync(Collection, [.. op.Keys.Cast<object>()], cancellationToken: cancellationToken);
                break;
            case CrashOpKind.DeleteWhere:
                await db.DeleteWhereAsync(Collection, FilterFor(op), cancellationToken: cancellationToken);
                break;
            case CrashOpKind.Flush:
                await db.FlushAsync(Collection, cancellationToken: cancellationToken);
                break;
            case CrashOpKind.Compact:
                await db.CompactAsync(Collection, cancellationToken: cancellationToken);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "unknown step kind");
        }
    }

    /// <summary>The filter of a DeleteWhere step.</summary>
    public static string FilterFor(CrashOp op) =>
        string.Create(CultureInfo.InvariantCulture, $"grp == {op.Group} and parity == 0");

    /// <summary>Applies a step to the model (key to the version of its content). Null model means "no collection".</summary>
    public static Dictionary<long, int>? Apply(Dictionary<long, int>? model, CrashOp op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (op.Kind == CrashOpKind.CreateCollection)
        {
            return [];
        }

        var next = new Dictionary<long, int>(model ?? throw new InvalidOperationException("the collection does not exist yet"));
        switch (op.Kind)
        {
            case CrashOpKind.Insert:
            case CrashOpKind.Upsert:
                foreach (var k in op.Keys)
                {
                    next[k] = op.Step;
                }

                break;
            case CrashOpKind.DeleteKeys:
                foreach (var k in op.Keys)
                {
                    next.Remove(k);
                }

                break;
            case CrashOpKind.DeleteWhere:
                foreach (var k in next.Keys.Where(k => k / BatchSize == op.Group && k % 2 == 0).ToList())
                {
                    next.Remove(k);
                }

                break;
        }

        return next;
    }

    /// <summary>Checks a reopened folder against the model: the collection exists iff its creation was acknowledged (or
    /// was in flight), and its rows are exactly the acknowledged state or that plus the step in flight, whole. Returns the
    /// rows (null without a collection) and whether only the in-flight state matched; throws naming the difference.</summary>
    public static async Task<(Dictionary<long, Row>? Rows, bool InFlightApplied)> CheckRecoveredAsync(
        QuiverEngine db, int seed, Dictionary<long, int>? acked, Dictionary<long, int>? withInFlight, string context)
    {
        var (rows, matched) = await CheckRecoveredAsync(db, seed, [acked, withInFlight], context);
        return (rows, matched > 0);
    }

    /// <summary>Checks a reopened folder against the states it may legally be in: <paramref name="allowed"/>[0] is the
    /// acknowledged state (null: no collection), the others add unacknowledged work in flight, each part whole. Returns the
    /// rows (null without a collection) and the index of the first state they equal; throws naming the difference.</summary>
    public static async Task<(Dictionary<long, Row>? Rows, int Matched)> CheckRecoveredAsync(
        QuiverEngine db, int seed, IReadOnlyList<Dictionary<long, int>?> allowed, string context)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(allowed);
        if (!await db.HasCollectionAsync(Collection))
        {
            return allowed[0] is null ? (null, 0) : throw new InvalidOperationException($"{context}: the collection is gone although its creation was acknowledged");
        }

        if (allowed.All(m => m is null))
        {
            throw new InvalidOperationException($"{context}: a collection exists that was never created");
        }

        var actual = await ReadRowsAsync(db, context);
        for (var i = 0; i < allowed.Count; i++)
        {
            if (Matches(seed, allowed[i] ?? [], actual))
            {
                return (actual, i);
            }
        }

        throw new InvalidOperationException($"{context}: recovered rows are neither the acknowledged steps nor those plus work in flight, whole.\n" +
            Describe("acknowledged", allowed[0] ?? [], actual, seed) + "\n" + Describe("with all work in flight", allowed[^1] ?? [], actual, seed));
    }

    /// <summary>Every row of the collection by key (all fields); fails on a key returned twice.</summary>
    public static async Task<Dictionary<long, Row>> ReadRowsAsync(QuiverEngine db, string context)
    {
        ArgumentNullException.ThrowIfNull(db);
        var rows = await db.QueryAsync(Collection, new QueryRequest { Filter = "id >= 0", OutputFields = ["*"] });
        var actual = new Dictionary<long, Row>();
        foreach (var row in rows)
        {
            var id = (long)row["id"]!;
            if (!actual.TryAdd(id, row))
            {
                throw new InvalidOperationException($"{context}: key {id} returned twice");
            }
        }

        return actual;
    }

    /// <summary>True if <paramref name="actual"/> holds exactly the model's keys, each with the content of its version.</summary>
    public static bool Matches(int seed, Dictionary<long, int>? model, Dictionary<long, Row> actual)
    {
        ArgumentNullException.ThrowIfNull(actual);
        return model is not null && model.Count == actual.Count &&
            model.All(kv => actual.TryGetValue(kv.Key, out var r) && SameContent(seed, kv.Key, kv.Value, r));
    }

    /// <summary>True if <paramref name="actual"/> is exactly the row step <paramref name="version"/> wrote for the key.</summary>
    public static bool SameContent(int seed, long key, int version, Row actual)
    {
        ArgumentNullException.ThrowIfNull(actual);
        var expected = RowFor(seed, key, version);
        foreach (var (name, value) in expected)
        {
            var ok = value is float[] v
                ? actual[name] is float[] a && a.AsSpan().SequenceEqual(v)
                : Equals(Convert.ToString(value, CultureInfo.InvariantCulture), Convert.ToString(actual[name], CultureInfo.InvariantCulture));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>How <paramref name="actual"/> differs from the model: missing, extra and wrong-content keys.</summary>
    public static string Describe(string label, Dictionary<long, int> model, Dictionary<long, Row> actual, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(actual);
        var missing = model.Keys.Where(k => !actual.ContainsKey(k)).OrderBy(k => k).ToList();
        var extra = actual.Keys.Where(k => !model.ContainsKey(k)).OrderBy(k => k).ToList();
        var wrong = model.Where(kv => actual.TryGetValue(kv.Key, out var r) && !SameContent(seed, kv.Key, kv.Value, r))
            .Select(kv => $"{kv.Key} (want v{kv.Value}, got v{actual[kv.Key]["ver"]})").ToList();
        return $"  vs {label}: {model.Count} rows expected, {actual.Count} found; missing [{string.Join(',', missing)}]; " +
            $"extra [{string.Join(',', extra)}]; wrong content [{string.Join(", ", wrong)}]";
    }
}
