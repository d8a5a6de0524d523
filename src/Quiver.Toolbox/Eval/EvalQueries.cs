using System.Globalization;
using System.Text.Json;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Eval;

/// <summary>One query to search: its id (as the qrels name it) and its vector.</summary>
internal sealed record EvalQuery(string Id, float[] Vector);

/// <summary>Reads the query vectors <c>quiver eval --queries</c> searches.</summary>
internal static class EvalQueries
{
    /// <summary>Reads <paramref name="path"/> by its extension:
    /// <list type="bullet">
    /// <item><c>.jsonl</c> (or <c>.json</c>): one object per line, <c>{"id": "q1", "vector": [0.1, 0.2]}</c>; the id is a
    /// string or an integer (used as its decimal text); other keys are ignored; blank lines are skipped.</item>
    /// <item><c>.npy</c>, <c>.fvecs</c>, <c>.bvecs</c>: one vector per row; the id of row r is its index "r" (from 0).</item>
    /// </list>
    /// Every vector must have the same dimension and finite values, and ids must be unique; a violation is an
    /// <see cref="ToolboxException"/> naming the file and line (or row).</summary>
    public static IReadOnlyList<EvalQuery> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"{path}: no such queries file");
        }

        var ext = Path.GetExtension(path).ToLowerInvariant();
        var queries = ext is ".jsonl" or ".json" ? ReadJsonLines(path) : ReadMatrix(path, ext);
        if (queries.Count == 0)
        {
            throw new ToolboxException($"{path}: no queries");
        }

        return queries;
    }

    /// <summary>"FILE line N: MESSAGE", the error of a malformed line of any file eval reads.</summary>
    public static ToolboxException LineError(string path, int line, string message) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{path} line {line}: {message}"));

    private static List<EvalQuery> ReadMatrix(string path, string ext)
    {
        if (ext is not (".npy" or ".fvecs" or ".bvecs"))
        {
            throw new ToolboxException($"{path}: unknown queries format '{ext}'; expected .jsonl, .npy, .fvecs or .bvecs");
        }

        float[] values;
        int count, dim;
        try
        {
            values = VectorFile.ReadFloats(path, 0, out count, out dim);
        }
        catch (QuiverException e)
        {
            throw new ToolboxException(e.Message, e);
        }

        var queries = new List<EvalQuery>(count);
        for (var r = 0; r < count; r++)
        {
            var vector = values.AsSpan(r * dim, dim).ToArray();
            if (!vector.All(float.IsFinite))
            {
                throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"{path} row {r}: the vector holds NaN or infinity"));
            }

            queries.Add(new EvalQuery(r.ToString(CultureInfo.InvariantCulture), vector));
        }

        return queries;
    }

    private static List<EvalQuery> ReadJsonLines(string path)
    {
        var queries = new List<EvalQuery>();
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw LineError(path, lineNumber, $"not valid JSON: {e.Message}");
            }

            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw LineError(path, lineNumber, $"expected an object {{\"id\": ..., \"vector\": [...]}}, got {root.ValueKind}");
                }

                var id = root.TryGetProperty("id", out var idElement) ? idElement.ValueKind switch
                {
                    JsonValueKind.String => idElement.GetString()!,
                    JsonValueKind.Number when idElement.TryGetInt64(out var n) => n.ToString(CultureInfo.InvariantCulture),
                    _ => throw LineError(path, lineNumber, $"\"id\" must be a string or an integer, got {idElement.GetRawText()}"),
                }
                : throw LineError(path, lineNumber, "no \"id\"");
                if (id.Length == 0)
                {
                    throw LineError(path, lineNumber, "\"id\" is empty");
                }

                if (!root.TryGetProperty("vector", out var vectorElement) || vectorElement.ValueKind != JsonValueKind.Array)
                {
                    throw LineError(path, lineNumber, "\"vector\" must be an array of numbers");
                }

                var vector = new float[vectorElement.GetArrayLength()];
                var i = 0;
                foreach (var value in vectorElement.EnumerateArray())
                {
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetSingle(out var f) || !float.IsFinite(f))
                    {
                        throw LineError(path, lineNumber, $"\"vector\"[{i}] is {value.GetRawText()}, not a finite number");
                    }

                    vector[i++] = f;
                }

                if (vector.Length == 0)
                {
                    throw LineError(path, lineNumber, "\"vector\" is empty");
                }

                if (queries.Count > 0 && vector.Length != queries[0].Vector.Length)
                {
                    throw LineError(path, lineNumber, $"the vector has {vector.Length} values, the first query's has {queries[0].Vector.Length}");
                }

                if (!lines.TryAdd(id, lineNumber))
                {
                    throw LineError(path, lineNumber, $"query id '{id}' already appears on line {lines[id]}");
                }

                queries.Add(new EvalQuery(id, vector));
            }
        }

        return queries;
    }
}
