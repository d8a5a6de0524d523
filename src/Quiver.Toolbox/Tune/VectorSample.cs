using System.Globalization;
using System.Text.Json;
using Quiver.Client;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Tune;

/// <summary>Vectors drawn for <c>tune</c> (queries) and <c>advise</c> (the sample indexes are built on): row-major
/// <see cref="Values"/>, and for rows of a collection their primary keys, so a query can leave its own row out of the
/// answers.</summary>
/// <param name="Values">Count × Dimension floats, row-major.</param>
/// <param name="Count">Vectors drawn.</param>
/// <param name="Dimension">Floats per vector.</param>
/// <param name="Keys">Primary key of each vector's row (long or string), or null for vectors from a file.</param>
/// <param name="Population">Rows or vectors the sample was drawn from.</param>
internal sealed record VectorSample(float[] Values, int Count, int Dimension, IReadOnlyList<object>? Keys, long Population)
{
    /// <summary>Vector <paramref name="i"/>.</summary>
    public float[] Vector(int i) => Values.AsSpan(i * Dimension, Dimension).ToArray();

    /// <summary>Draws up to <paramref name="count"/> rows of <paramref name="collection"/> uniformly at random
    /// (seeded) with bounded cost: one scan of the primary keys only (pages of 10,000 keys, no vectors; memory holds
    /// <paramref name="count"/> keys) keeps a reservoir sample (Algorithm R), then the chosen rows' vectors are fetched
    /// by key, 500 at a time, and put in a seeded random order. Rows deleted between the two steps are left out.</summary>
    public static async Task<VectorSample> FromCollectionAsync(
        IQuiverClient client, string collection, string? database, string field, int dimension, int count, int seed, ProgressHandle? progress,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var info = await client.DescribeCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var key = info.Schema.PrimaryKey.Name;
        var rng = new Random(seed);
        var reservoir = new List<object>(count);
        long seen = 0;
        await foreach (var page in CollectionScanner.ScanAsync(client, collection, database, pageSize: 10_000, outputFields: [key], cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            foreach (var row in page)
            {
                var id = row[key]!;
                if (reservoir.Count < count)
                {
                    reservoir.Add(id);
                }
                else if (rng.NextInt64(seen + 1) is var slot && slot < count)
                {
                    reservoir[(int)slot] = id;
                }

                seen++;
            }

            progress?.Advance(page.Count);
        }

        var values = new List<float[]>(reservoir.Count);
        var keys = new List<object>(reservoir.Count);
        for (var at = 0; at < reservoir.Count; at += 500)
        {
            var batch = reservoir.GetRange(at, Math.Min(500, reservoir.Count - at));
            var rows = await client.GetAsync(collection, batch, [key, field], null, database, cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                if (row[field] is not float[] v || v.Length != dimension)
                {
                    throw new ToolboxException($"collection '{collection}': row {row[key]} has no {dimension}-dimensional float vector in field '{field}'");
                }

                values.Add(v);
                keys.Add(row[key]!);
            }
        }

        var order = Enumerable.Range(0, values.Count).ToArray();
        new Random(seed + 1).Shuffle(order);
        var flat = new float[order.Length * dimension];
        for (var i = 0; i < order.Length; i++)
        {
            values[order[i]].CopyTo(flat.AsSpan(i * dimension));
        }

        return new VectorSample(flat, order.Length, dimension, [.. order.Select(i => keys[i])], seen);
    }

    /// <summary>Reads up to <paramref name="count"/> vectors of a file: <c>.npy</c>, <c>.fvecs</c> or <c>.bvecs</c>
    /// (<see cref="VectorFile"/>), or <c>.jsonl</c> with one vector per line (a JSON array of numbers, or an object whose
    /// <paramref name="field"/> or <c>vector</c> key holds one). A file with more vectors gives a seeded uniform sample
    /// of them (rows chosen without reading the others for the binary formats).</summary>
    public static VectorSample FromFile(string path, int count, int seed, string? field)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"'{path}': no such file");
        }

        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".jsonl" or ".ndjson" or ".json")
        {
            return FromJsonl(path, count, seed, field);
        }

        using var file = VectorFile.Open(path);
        if (file.IsInteger)
        {
            throw new ToolboxException($"'{path}': holds integers ({file.Element}); expected float vectors");
        }

        var dim = file.Dimension;
        var rows = Pick(file.Count, count, seed);
        var values = new float[rows.Length * dim];
        for (var i = 0; i < rows.Length; i++)
        {
            file.ReadFloats(rows[i], 1, values.AsSpan(i * dim, dim));
        }

        return new VectorSample(values, rows.Length, dim, null, file.Count);
    }

    /// <summary>Sorted distinct row numbers: all of 0..population-1 when it has at most <paramref name="count"/>,
    /// else a seeded uniform sample of <paramref name="count"/> of them.</summary>
    public static int[] Pick(int population, int count, int seed)
    {
        if (population <= count)
        {
            return [.. Enumerable.Range(0, population)];
        }

        var rng = new Random(seed);
        var chosen = new HashSet<int>();
        while (chosen.Count < count)
        {
            chosen.Add(rng.Next(population));
        }

        var rows = chosen.ToArray();
        Array.Sort(rows);
        return rows;
    }

    private static VectorSample FromJsonl(string path, int count, int seed, string? field)
    {
        var all = new List<float[]>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            float[] v;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                if (e.ValueKind == JsonValueKind.Object)
                {
                    if (!(field is not null && e.TryGetProperty(field, out var inner)) && !e.TryGetProperty("vector", out inner))
                    {
                        throw new ToolboxException($"'{path}' line {lineNumber}: an object without a '{field ?? "vector"}' key" + (field is null ? "" : " or a 'vector' key"));
                    }

                    e = inner;
                }

                if (e.ValueKind != JsonValueKind.Array)
                {
                    throw new ToolboxException($"'{path}' line {lineNumber}: expected a JSON array of numbers, got {e.ValueKind}");
                }

                v = [.. e.EnumerateArray().Select(x => x.GetSingle())];
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
            {
                throw new ToolboxException($"'{path}' line {lineNumber}: not a vector: {ex.Message}", ex);
            }

            if (all.Count > 0 && v.Length != all[0].Length)
            {
                throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"'{path}' line {lineNumber}: dimension {v.Length}; earlier lines have {all[0].Length}"));
            }

            if (v.Length == 0 || v.Any(x => !float.IsFinite(x)))
            {
                throw new ToolboxException($"'{path}' line {lineNumber}: an empty vector or one with NaN / infinity");
            }

            all.Add(v);
        }

        if (all.Count == 0)
        {
            throw new ToolboxException($"'{path}': no vectors");
        }

        var dim = all[0].Length;
        var rows = Pick(all.Count, count, seed);
        var values = new float[rows.Length * dim];
        for (var i = 0; i < rows.Length; i++)
        {
            all[rows[i]].CopyTo(values.AsSpan(i * dim));
        }

        return new VectorSample(values, rows.Length, dim, null, all.Count);
    }
}
