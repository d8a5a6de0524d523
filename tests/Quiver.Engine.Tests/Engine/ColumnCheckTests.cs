using Quiver.Writes;

namespace Quiver.Engine.Tests.Engine;

/// <summary><see cref="ColumnValidator.Check"/>, a cluster node's check of a whole write before it splits the write into
/// shards: it refuses exactly what
/// <see cref="ColumnValidator.Build(CollectionSchema, ColumnBatch, bool, Func{int, long}, TimeZoneInfo?)"/> refuses, with the same message, and it neither
/// copies the batch's vectors (Build copies them into the batch it keeps; the node keeps nothing) nor changes them.</summary>
public sealed class ColumnCheckTests
{
    private const int Dim = 128;

    private static readonly CollectionSchema Schema = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            new FieldSchema { Name = "v", DataType = DataType.FloatVector, Dimension = Dim, Metric = MetricType.Cosine, Nullable = true },
            FieldSchema.Vector("w", 4, MetricType.L2),
        ],
    };

    /// <summary>A batch of <paramref name="rows"/> rows with nonzero vectors; <paramref name="change"/> edits its
    /// arrays (keys, v, w) before the batch is made.</summary>
    private static ColumnBatch Batch(int rows, Action<long[], float[], float[]>? change = null, bool[]? vNulls = null)
    {
        var random = new Random(rows);
        var keys = Enumerable.Range(0, rows).Select(i => (long)i).ToArray();
        var v = Enumerable.Range(0, rows * Dim).Select(_ => random.NextSingle() + 0.5f).ToArray();
        var w = Enumerable.Range(0, rows * 4).Select(_ => random.NextSingle() + 0.5f).ToArray();
        change?.Invoke(keys, v, w);
        return new ColumnBatch(rows)
            .Add(new FieldColumn { Name = "id", Longs = keys })
            .Add(new FieldColumn { Name = "v", Vectors = v, Nulls = vNulls })
            .Add(new FieldColumn { Name = "w", Vectors = w });
    }

    public static TheoryData<string> Mistakes => new()
    {
        "infinite", "zero-cosine", "short-column", "null-not-nullable", "duplicate-keys", "unknown-field", "wrong-kind",
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Check_RefusesWhatBuildRefuses_WithTheSameMessage(string mistake)
    {
        ColumnBatch Bad() => mistake switch
        {
            "infinite" => Batch(5, (_, v, _) => v[3 * Dim + 7] = float.PositiveInfinity),
            "zero-cosine" => Batch(5, (_, v, _) => Array.Clear(v, 2 * Dim, Dim)),
            "short-column" => new ColumnBatch(5)
                .Add(new FieldColumn { Name = "id", Longs = [0, 1, 2, 3, 4] })
                .Add(new FieldColumn { Name = "v", Vectors = new float[4 * Dim] })
                .Add(new FieldColumn { Name = "w", Vectors = new float[5 * 4] }),
            "null-not-nullable" => new ColumnBatch(5)
                .Add(new FieldColumn { Name = "id", Longs = [0, 1, 2, 3, 4] })
                .Add(new FieldColumn { Name = "v", Vectors = Enumerable.Repeat(1f, 5 * Dim).ToArray() })
                .Add(new FieldColumn { Name = "w", Vectors = Enumerable.Repeat(1f, 5 * 4).ToArray(), Nulls = [false, false, false, true, false] }),
            "duplicate-keys" => Batch(5, (k, _, _) => k[4] = 1),
            "unknown-field" => Batch(5).Add(new FieldColumn { Name = "nope", Longs = [1, 2, 3, 4, 5] }),
            "wrong-kind" => new ColumnBatch(5)
                .Add(new FieldColumn { Name = "id", Longs = [0, 1, 2, 3, 4] })
                .Add(new FieldColumn { Name = "v", Longs = [0, 1, 2, 3, 4] })
                .Add(new FieldColumn { Name = "w", Vectors = new float[5 * 4] }),
            _ => throw new ArgumentOutOfRangeException(nameof(mistake)),
        };

        foreach (var upsert in new[] { false, true })
        {
            var built = Assert.Throws<QuiverException>(() => ColumnValidator.Build(Schema, Bad(), upsert, _ => 0));
            var checkedOnly = Assert.Throws<QuiverException>(() => ColumnValidator.Check(Schema, Bad(), upsert));
            Assert.Equal(built.Code, checkedOnly.Code);
            Assert.Equal(built.Message, checkedOnly.Message);
        }
    }

    /// <summary>A good batch of 1,000 x 128-d rows (500 KB of vectors, one of them null with nonzero slots): Check accepts
    /// it as Build does, allocates less than one copy of its vectors (Build allocates at least that), and leaves every
    /// array as it was (Build's batch stores the null row as zeros in its own copy).</summary>
    [Fact]
    public void Check_AcceptsAGoodBatch_WithoutCopyingOrChangingItsVectors()
    {
        const int rows = 1_000;
        var nulls = new bool[rows];
        nulls[17] = true;
        var batch = Batch(rows, vNulls: nulls);
        var v = batch.Find("v")!.Vectors!;
        var before = v.ToArray();
        var vectorBytes = (long)v.Length * sizeof(float);

        // Once first, so that JIT compilation and type loading are not counted.
        ColumnValidator.Check(Schema, batch, upsert: false);
        var start = GC.GetAllocatedBytesForCurrentThread();
        ColumnValidator.Check(Schema, batch, upsert: false);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - start;

        Assert.True(allocated < vectorBytes, $"the check allocated {allocated:N0} bytes for {vectorBytes:N0} bytes of vectors");
        Assert.Same(v, batch.Find("v")!.Vectors);
        Assert.Equal(before, v);

        start = GC.GetAllocatedBytesForCurrentThread();
        var built = ColumnValidator.Build(Schema, batch, upsert: false, _ => 0);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - start >= vectorBytes);
        Assert.Equal(new float[Dim], built.Columns[1].Vectors!.AsSpan(17 * Dim, Dim).ToArray());
        Assert.Equal(before, v);
    }
}
