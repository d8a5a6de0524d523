using System.Collections;
using Microsoft.Extensions.VectorData;
using Quiver.VectorData;

namespace Quiver.Typed.Tests.VectorData;

/// <summary>
/// DateTime and DateTimeOffset (TIMESTAMPTZ), Half (FLOAT16), sbyte (INT8) and BitArray (BINARY, Hamming) properties
/// through the provider on the embedded engine and the server: values both ways, time filters against LINQ to objects,
/// and search of each vector type against brute force.
/// </summary>
public abstract class TimeAndVectorTypeTests(bool remote)
{
    private static readonly DateTime Start = new(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc);

    /// <summary>Values exact in every type: halves of small integers, integers in -100..100, random bits; times at whole
    /// microseconds, readings 2k and 2k + 1 in the same second (the first on the second, the other half a second and k
    /// microseconds later).</summary>
    private static List<Reading> Readings(int count)
    {
        var random = new Random(5);
        return [.. Enumerable.Range(1, count).Select(i =>
        {
            var bits = new byte[2];
            random.NextBytes(bits);
            return new Reading
            {
                Id = i,
                Seen = Start.AddMinutes(i / 2 * 37).AddTicks(i % 2 * (5_000_000 + (i * 10))),
                Installed = i % 4 == 0 ? null : new DateTimeOffset(2025, 1 + (i % 12), 1 + (i % 27), i % 24, 0, 0, TimeSpan.FromHours(i % 3 - 1)),
                Half = Enumerable.Range(0, 4).Select(_ => (Half)(random.Next(-8, 9) / 2f)).ToArray(),
                Int8 = [.. Enumerable.Range(0, 4).Select(_ => (sbyte)random.Next(-100, 101))],
                Bits = new BitArray(bits),
            };
        })];
    }

    private async Task<(Target Target, QuiverVectorStoreCollection<long, Reading> Collection, List<Reading> Readings)> OpenAsync()
    {
        var target = await Target.OpenAsync(remote);
        var collection = new QuiverVectorStore(target.Client).GetCollection<long, Reading>("readings");
        await collection.EnsureCollectionExistsAsync();
        var readings = Readings(60);
        await collection.UpsertAsync(readings);
        return (target, collection, readings);
    }

    private static bool[] Bits(BitArray bits) => [.. bits.Cast<bool>()];

    [Fact]
    public async Task TimesAndVectorTypes_RoundTrip()
    {
        var (target, collection, readings) = await OpenAsync();
        await using var _ = target;
        var schema = (await target.Client.DescribeCollectionAsync("readings")).Schema;
        Assert.Equal(
            [DataType.Timestamptz, DataType.Timestamptz, DataType.Float16Vector, DataType.Int8Vector, DataType.BinaryVector],
            new[] { "Seen", "Installed", "Half", "Int8", "Bits" }.Select(n => schema.Find(n)!.DataType));
        Assert.Equal(MetricType.Hamming, schema.Find("Bits")!.Metric);

        var got = await collection.GetAsync(readings.Select(r => r.Id), new RecordRetrievalOptions { IncludeVectors = true }).ToListAsync();
        Assert.Equal(readings.Count, got.Count);
        foreach (var back in got)
        {
            var sent = readings[(int)back.Id - 1];
            Assert.Equal(sent.Seen, back.Seen);
            Assert.Equal(DateTimeKind.Utc, back.Seen.Kind);
            Assert.Equal(sent.Installed, back.Installed);
            Assert.Equal(sent.Half.ToArray(), back.Half.ToArray());
            Assert.Equal(sent.Int8, back.Int8);
            Assert.Equal(Bits(sent.Bits), Bits(back.Bits));
        }

        // A local DateTime is stored as its instant; ticks finer than a microsecond are dropped.
        var local = new Reading { Id = 99, Seen = new DateTime(2026, 5, 5, 12, 0, 0, DateTimeKind.Local).AddTicks(7), Half = new Half[4], Int8 = new sbyte[4] };
        await collection.UpsertAsync(local);
        Assert.Equal(local.Seen.ToUniversalTime().AddTicks(-7), (await collection.GetAsync(99L))!.Seen);
    }

    [Fact]
    public async Task TimeFilters_SelectWhatLinqToObjectsSelects()
    {
        var (target, collection, readings) = await OpenAsync();
        await using var _ = target;
        var cutoff = Start.AddHours(12);
        var installed = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.FromHours(2));
        var tenth = readings[9].Seen;
        System.Linq.Expressions.Expression<Func<Reading, bool>>[] filters =
        [
            r => r.Seen >= cutoff,
            r => r.Seen < cutoff && r.Installed != null,
            r => r.Installed > installed,
            r => r.Installed == null || r.Seen == tenth,
        ];
        foreach (var filter in filters)
        {
            var expected = readings.Where(filter.Compile()).Select(r => r.Id).Order().ToList();
            Assert.NotEmpty(expected);
            Assert.NotEqual(readings.Count, expected.Count);
            Assert.Equal(expected, (await collection.GetAsync(filter, 100).ToListAsync()).Select(r => r.Id).Order());
        }

        // Ordered by time: a whole second before the same second and a half (RFC 3339 text sorts "…:00.5Z" first).
        var ordered = await collection.GetAsync(r => r.Id > 0, 20, new FilteredRecordRetrievalOptions<Reading>
        {
            Skip = 5,
            OrderBy = o => o.Ascending(r => r.Seen),
        }).Select(r => r.Id).ToListAsync();
        Assert.Equal(readings.OrderBy(r => r.Seen).Skip(5).Take(20).Select(r => r.Id), ordered);
        var byInstalled = await collection.GetAsync(r => r.Id > 0, 60, new FilteredRecordRetrievalOptions<Reading>
        {
            OrderBy = o => o.Descending(r => r.Installed).Ascending(r => r.Id),
        }).Select(r => r.Id).ToListAsync();
        Assert.Equal(readings.OrderByDescending(r => r.Installed).ThenBy(r => r.Id).Select(r => r.Id), byInstalled);
    }

    /// <summary>The hits are the best by the oracle's scores (ties in any order) and each carries its own exact score.</summary>
    private static void AssertBest(Dictionary<long, double> oracle, List<VectorSearchResult<Reading>> hits, bool descending)
    {
        var best = (descending ? oracle.Values.OrderDescending() : oracle.Values.Order()).Take(hits.Count);
        Assert.Equal(5, hits.Count);
        Assert.Equal(best, hits.Select(h => h.Score!.Value));
        Assert.All(hits, h => Assert.Equal(oracle[h.Record.Id], h.Score!.Value));
    }

    [Fact]
    public async Task Search_OfEachVectorType_EqualsBruteForce()
    {
        var (target, collection, readings) = await OpenAsync();
        await using var _ = target;
        Half[] half = [(Half)0.5f, (Half)(-1f), (Half)2f, (Half)0f];
        var hits = await collection.SearchAsync(half, 5, new VectorSearchOptions<Reading> { VectorProperty = r => r.Half }).ToListAsync();
        AssertBest(readings.ToDictionary(r => r.Id, r => r.Half.ToArray().Zip(half, (a, b) => ((double)a - (double)b) * ((double)a - (double)b)).Sum()), hits, descending: false);

        sbyte[] int8 = [10, -20, 30, 5];
        hits = await collection.SearchAsync(new ReadOnlyMemory<sbyte>(int8), 5, new VectorSearchOptions<Reading> { VectorProperty = r => r.Int8 }).ToListAsync();
        AssertBest(readings.ToDictionary(r => r.Id, r => r.Int8.Zip(int8, (a, b) => (double)a * b).Sum()), hits, descending: true);

        var bits = new BitArray(new byte[] { 0b1010_0101, 0b0000_1111 });
        hits = await collection.SearchAsync(bits, 5, new VectorSearchOptions<Reading> { VectorProperty = r => r.Bits, IncludeVectors = true }).ToListAsync();
        AssertBest(readings.ToDictionary(r => r.Id, r => (double)Bits(r.Bits).Zip(Bits(bits), (a, b) => a != b).Count(d => d)), hits, descending: false);
        Assert.Equal(Bits(readings[(int)hits[0].Record.Id - 1].Bits), Bits(hits[0].Record.Bits));
    }

    [Fact]
    public async Task HammingOnFloats_AndCosineOnBits_AreNotSupported()
    {
        await using var target = await Target.OpenAsync(remote);
        var store = new QuiverVectorStore(target.Client);
        var floats = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Id", typeof(long)), new VectorStoreVectorProperty("V", typeof(float[]), 8) { DistanceFunction = DistanceFunction.HammingDistance }],
        };
        Assert.Contains("BitArray", Assert.Throws<NotSupportedException>(() => store.GetDynamicCollection("f", floats)).Message, StringComparison.Ordinal);
        var bits = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Id", typeof(long)), new VectorStoreVectorProperty("V", typeof(BitArray), 8) { DistanceFunction = DistanceFunction.CosineSimilarity }],
        };
        Assert.Contains("HammingDistance", Assert.Throws<NotSupportedException>(() => store.GetDynamicCollection("b", bits)).Message, StringComparison.Ordinal);
    }
}

public sealed class EmbeddedTimeAndVectorTypeTests() : TimeAndVectorTypeTests(remote: false);

public sealed class RemoteTimeAndVectorTypeTests() : TimeAndVectorTypeTests(remote: true);
