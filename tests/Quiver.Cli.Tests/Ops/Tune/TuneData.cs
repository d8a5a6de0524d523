using System.Globalization;
using Quiver.Client;
using Quiver.Toolbox.Advise;

namespace Quiver.Cli.Tests.Ops.Tune;

/// <summary>Seeded clustered vectors in an indexed collection, for tune and advise tests.</summary>
internal static class TuneData
{
    public const int Dim = 24;

    /// <summary><paramref name="count"/> vectors around 24 seeded centres with uniform noise of width 0.8, row-major.</summary>
    public static float[] Clustered(int count, int seed, int dim = Dim) => Advisor.Synthetic(count, dim, seed, clusters: 24, spread: 0.8).Values;

    /// <summary>Creates collection <paramref name="name"/> (id, tag, vector), inserts <paramref name="count"/> clustered
    /// rows, flushes and builds a <paramref name="indexType"/> index with <paramref name="indexParams"/> (none for null).</summary>
    public static async Task CreateAsync(IQuiverClient client, string name, string? indexType, Dictionary<string, string>? indexParams, int count = 3000, int seed = 5)
    {
        var schema = new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.VarChar("tag", 16),
                FieldSchema.Vector("vector", Dim, MetricType.L2),
            ],
        };
        await client.CreateCollectionAsync(name, schema);
        var values = Clustered(count, seed);
        for (var at = 0; at < count; at += 1000)
        {
            var rows = new List<IReadOnlyDictionary<string, object?>>();
            for (var i = at; i < Math.Min(count, at + 1000); i++)
            {
                rows.Add(new Dictionary<string, object?>
                {
                    ["id"] = (long)i,
                    ["tag"] = i % 2 == 0 ? "even" : "odd",
                    ["vector"] = values.AsSpan(i * Dim, Dim).ToArray(),
                });
            }

            await client.InsertAsync(name, rows);
        }

        await client.FlushAsync(name);
        if (indexType is not null)
        {
            await client.CreateIndexAsync(name, new IndexDefinition { FieldName = "vector", IndexType = indexType, Params = indexParams ?? [] });
            await client.WaitForIndexAsync(name);
        }

        await client.LoadCollectionAsync(name);
    }

    /// <summary>The exact top-<paramref name="k"/> ids of <paramref name="query"/> among the <see cref="Dim"/>-wide rows
    /// of <paramref name="rows"/> (ids are row positions) by squared L2 in double, ties by smaller id; row
    /// <paramref name="exclude"/> (a query's own row) is left out.</summary>
    public static HashSet<long> ExactTopK(float[] query, float[] rows, int k, long exclude = -1) =>
        Enumerable.Range(0, rows.Length / Dim).Where(i => i != exclude)
            .Select(i => (Id: (long)i, D: SquaredL2(query, rows.AsSpan(i * Dim, Dim))))
            .OrderBy(x => x.D).ThenBy(x => x.Id).Take(k).Select(x => x.Id).ToHashSet();

    private static double SquaredL2(float[] a, ReadOnlySpan<float> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = (double)a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    public static Dictionary<string, string> P(params (string Name, int Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value.ToString(CultureInfo.InvariantCulture));
}
