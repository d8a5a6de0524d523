using System.Collections;

namespace Quiver.Typed.Tests;

public sealed class Sample
{
    [QuiverKey]
    public long Id { get; set; }

    public DateTime Seen { get; set; }

    public DateTimeOffset? Installed { get; set; }

    [QuiverVector(4, Metric = MetricType.L2)]
    public Half[] Half { get; set; } = [];

    [QuiverVector(4, Metric = MetricType.IP)]
    public ReadOnlyMemory<sbyte> Int8 { get; set; }

    [QuiverVector(16, Metric = MetricType.Hamming)]
    public BitArray Bits { get; set; } = new(16);
}

/// <summary>
/// The typed API's DateTime / DateTimeOffset (TIMESTAMPTZ), Half (FLOAT16), sbyte (INT8) and BitArray (BINARY)
/// properties on the embedded engine and the server: the schema, values both ways, a time filter against LINQ to
/// objects, and search of each vector type against brute force.
/// </summary>
public abstract class TypedTimeAndVectorTests(bool remote)
{
    private static readonly DateTime Start = new(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc);

    private static List<Sample> Samples(int count)
    {
        var random = new Random(9);
        return [.. Enumerable.Range(1, count).Select(i =>
        {
            var bits = new byte[2];
            random.NextBytes(bits);
            return new Sample
            {
                Id = i,
                Seen = Start.AddSeconds(i * 4_001).AddTicks(i * 10),
                Installed = i % 3 == 0 ? null : new DateTimeOffset(2024, 1 + (i % 12), 2, 3, 4, 5, TimeSpan.FromHours(i % 5)),
                Half = [.. Enumerable.Range(0, 4).Select(_ => (Half)(random.Next(-6, 7) / 4f))],
                Int8 = Enumerable.Range(0, 4).Select(_ => (sbyte)random.Next(-128, 128)).ToArray(),
                Bits = new BitArray(bits),
            };
        })];
    }

    private static bool[] Bits(BitArray bits) => [.. bits.Cast<bool>()];

    /// <summary>The hits are the best by the oracle's scores (ties in any order), each with its own exact score.</summary>
    private static void AssertBest(Dictionary<long, double> oracle, List<QuiverSearchHit<Sample>> hits, bool descending)
    {
        Assert.Equal(6, hits.Count);
        Assert.Equal((descending ? oracle.Values.OrderDescending() : oracle.Values.Order()).Take(6), hits.Select(h => (double)h.Score));
        Assert.All(hits, h => Assert.Equal(oracle[h.Record.Id], h.Score));
    }

    [Fact]
    public async Task TimesAndVectorTypes_RoundTripFilterAndSearch()
    {
        await using var target = await Target.OpenAsync(remote);
        var samples = target.Client.Collection<Sample>("samples", new QuiverCollectionOptions { VectorIndexType = "AUTOINDEX" });
        Assert.Equal(
            [DataType.Timestamptz, DataType.Timestamptz, DataType.Float16Vector, DataType.Int8Vector, DataType.BinaryVector],
            samples.Schema.Fields.Skip(1).Select(f => f.DataType));
        await samples.EnsureCreatedAsync();
        var records = Samples(50);
        await samples.UpsertAsync(records);

        var back = await samples.QueryAsync().ToListAsync();
        Assert.Equal(records.Count, back.Count);
        foreach (var got in back)
        {
            var sent = records[(int)got.Id - 1];
            Assert.Equal((sent.Seen, DateTimeKind.Utc), (got.Seen, got.Seen.Kind));
            Assert.Equal(sent.Installed, got.Installed);
            Assert.Equal(sent.Half, got.Half);
            Assert.Equal(sent.Int8.ToArray(), got.Int8.ToArray());
            Assert.Equal(Bits(sent.Bits), Bits(got.Bits));
        }

        var cutoff = Start.AddDays(1);
        var filter = $"Seen >= ISO '{cutoff:yyyy-MM-dd'T'HH:mm:ss'Z'}' and Installed is not null";
        Assert.Equal(
            records.Where(r => r.Seen >= cutoff && r.Installed is not null).Select(r => r.Id).Order(),
            (await samples.QueryAsync(filter).ToListAsync()).Select(r => r.Id).Order());

        Half[] half = [(Half)0.25f, (Half)(-1f), (Half)0.5f, (Half)1f];
        var hits = await samples.SearchAsync(new ReadOnlyMemory<Half>(half), new QuiverSearchOptions { Limit = 6, VectorProperty = "Half" }).ToListAsync();
        AssertBest(records.ToDictionary(r => r.Id, r => r.Half.Zip(half, (a, b) => ((double)a - (double)b) * ((double)a - (double)b)).Sum()), hits, descending: false);

        sbyte[] int8 = [3, -7, 11, 1];
        hits = await samples.SearchAsync(new ReadOnlyMemory<sbyte>(int8), new QuiverSearchOptions { Limit = 6, VectorProperty = "Int8" }).ToListAsync();
        AssertBest(records.ToDictionary(r => r.Id, r => r.Int8.ToArray().Zip(int8, (a, b) => (double)a * b).Sum()), hits, descending: true);

        var bits = new BitArray(new byte[] { 0x3C, 0xA5 });
        hits = await samples.SearchAsync(bits, new QuiverSearchOptions { Limit = 6, VectorProperty = "Bits" }).ToListAsync();
        AssertBest(records.ToDictionary(r => r.Id, r => (double)Bits(r.Bits).Zip(Bits(bits), (a, b) => a != b).Count(d => d)), hits, descending: false);
    }
}

public sealed class EmbeddedTypedTimeAndVectorTests() : TypedTimeAndVectorTests(remote: false);

public sealed class RemoteTypedTimeAndVectorTests() : TypedTimeAndVectorTests(remote: true);
