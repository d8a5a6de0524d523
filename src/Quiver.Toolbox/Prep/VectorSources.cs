using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Prep;

/// <summary>One row read by <c>prep vectors</c>: its 1-based number (line for JSONL, row for <c>.npy</c> /
/// <c>.fvecs</c>), its values, the JSON object it came from (JSONL), or why it could not be read.</summary>
/// <param name="Number">Line or row number, 1-based.</param>
/// <param name="Values">The vector; owned by the source and valid until the next row.</param>
/// <param name="Json">JSONL: the whole object (other fields are kept on output).</param>
/// <param name="Error">Why the row has no vector (bad JSON, missing field, a component that is not a number).</param>
internal readonly record struct VectorRecord(long Number, ReadOnlyMemory<float> Values, JsonObject? Json, string? Error);

/// <summary>Rows of a vector file, readable once per pass, streaming.</summary>
internal interface IVectorSource : IDisposable
{
    /// <summary>The dimension the file declares (<c>.npy</c>, <c>.fvecs</c>), or null (JSONL).</summary>
    int? Dimension { get; }

    /// <summary>Rows in the file when known without reading it (<c>.npy</c>, <c>.fvecs</c>).</summary>
    long? Count { get; }

    /// <summary>The rows in file order.</summary>
    IEnumerable<VectorRecord> Read(CancellationToken cancellationToken);
}

/// <summary>Opens the sources and sinks of <c>prep vectors</c>.</summary>
internal static class VectorSources
{
    /// <summary>Opens <paramref name="path"/>: <c>.npy</c>, <c>.fvecs</c>, <c>.bvecs</c> through <see cref="VectorFile"/>,
    /// <c>.jsonl</c> / <c>.json</c> / <c>.ndjson</c> as JSON lines with the vector in <paramref name="field"/>.</summary>
    public static IVectorSource Open(string path, string field)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"{path}: no such file");
        }

        return ext switch
        {
            ".npy" or ".fvecs" or ".bvecs" => new MatrixSource(VectorFile.Open(path)),
            ".jsonl" or ".json" or ".ndjson" => new JsonlSource(path, field),
            _ => throw new ToolboxException($"{path}: cannot tell the format from the extension '{ext}'; expected .npy, .fvecs, .bvecs or .jsonl"),
        };
    }

    /// <summary>Rows of an <c>.npy</c> / <c>.fvecs</c> / <c>.bvecs</c> file, read in blocks of about 4 MiB.</summary>
    private sealed class MatrixSource(VectorFile file) : IVectorSource
    {
        public int? Dimension => file.Dimension;

        public long? Count => file.Count;

        public IEnumerable<VectorRecord> Read(CancellationToken cancellationToken)
        {
            if (file.IsInteger)
            {
                throw new ToolboxException($"{file.Path}: holds integer values (ids), not vectors");
            }

            var dim = file.Dimension;
            var block = Math.Max(1, (4 << 20) / (dim * sizeof(float)));
            var buffer = new float[block * dim];
            for (var start = 0; start < file.Count; start += block)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rows = Math.Min(block, file.Count - start);
                file.ReadFloats(start, rows, buffer.AsSpan(0, rows * dim));
                for (var r = 0; r < rows; r++)
                {
                    yield return new VectorRecord(start + r + 1, buffer.AsMemory(r * dim, dim), null, null);
                }
            }
        }

        public void Dispose() => file.Dispose();
    }

    /// <summary>JSON lines with a vector field (an array of numbers). Blank lines are skipped. Python's
    /// <c>json.dumps</c> writes NaN and infinities as the bare words <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>,
    /// which are not JSON: they are read as those values so that validation can report them; so are the strings
    /// "NaN", "Infinity" and "-Infinity".</summary>
    private sealed class JsonlSource(string path, string field) : IVectorSource
    {
        public int? Dimension => null;

        public long? Count => null;

        public IEnumerable<VectorRecord> Read(CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            var values = new List<float>();
            long number = 0;
            while (reader.ReadLine() is { } line)
            {
                cancellationToken.ThrowIfCancellationRequested();
                number++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                values.Clear();
                var (json, error) = Parse(line, field, values);
                yield return new VectorRecord(number, error is null ? values.ToArray() : ReadOnlyMemory<float>.Empty, json, error);
            }
        }

        public void Dispose()
        {
        }
    }

    /// <summary>Parses one JSONL line into <paramref name="values"/>: the object, or why not.</summary>
    internal static (JsonObject? Json, string? Error) Parse(string line, string field, List<float> values)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            try
            {
                node = JsonNode.Parse(QuoteBareNonFinite(line));
            }
            catch (JsonException e)
            {
                return (null, $"not valid JSON: {e.Message}");
            }
        }

        if (node is not JsonObject obj)
        {
            return (null, "not a JSON object");
        }

        if (!obj.TryGetPropertyValue(field, out var vector) || vector is null)
        {
            return (obj, $"no field '{field}'");
        }

        if (vector is not JsonArray array)
        {
            return (obj, $"field '{field}' is not an array of numbers");
        }

        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i];
            var kind = item?.GetValueKind();
            if (kind == JsonValueKind.Number)
            {
                // A number beyond double's range reads as infinity, which validation then reports.
                values.Add(item is JsonValue number && number.TryGetValue<double>(out var d) ? (float)d
                    : item!.ToJsonString().StartsWith('-') ? float.NegativeInfinity : float.PositiveInfinity);
            }
            else if (kind == JsonValueKind.String && item!.GetValue<string>() is var s
                     && (s is "NaN" or "Infinity" or "-Infinity"))
            {
                values.Add(float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
            }
            else
            {
                return (obj, string.Create(CultureInfo.InvariantCulture, $"field '{field}' component {i} is {item?.ToJsonString() ?? "null"}, not a number"));
            }
        }

        return (obj, null);
    }

    /// <summary>Puts quotes around the bare words NaN, Infinity and -Infinity outside strings.</summary>
    internal static string QuoteBareNonFinite(string line)
    {
        var result = new StringBuilder(line.Length + 16);
        var inString = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < line.Length)
                {
                    result.Append(line[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == '"')
            {
                inString = true;
                result.Append(c);
                continue;
            }

            var word = line.AsSpan(i).StartsWith("NaN", StringComparison.Ordinal) ? "NaN"
                : line.AsSpan(i).StartsWith("-Infinity", StringComparison.Ordinal) ? "-Infinity"
                : line.AsSpan(i).StartsWith("Infinity", StringComparison.Ordinal) ? "Infinity"
                : null;
            if (word is not null)
            {
                result.Append('"').Append(word).Append('"');
                i += word.Length - 1;
                continue;
            }

            result.Append(c);
        }

        return result.ToString();
    }
}

/// <summary>Where <c>prep vectors</c> writes: whole or nothing (a temporary file renamed by <see cref="Complete"/>).</summary>
internal sealed class VectorSink : IDisposable
{
    private static readonly JsonSerializerOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly string _path;
    private readonly string _field;
    private readonly VectorFileWriter? _matrix;
    private readonly StreamWriter? _lines;
    private bool _completed;

    /// <summary>Starts <paramref name="path"/> in <paramref name="format"/> for rows of <paramref name="dimension"/>;
    /// JSONL rows without an object of their own are written as <c>{"id": ROW-1, FIELD: [...]}</c>.</summary>
    public VectorSink(string path, VectorFormat format, int dimension, string field)
    {
        _path = path;
        _field = field;
        if (format == VectorFormat.Jsonl)
        {
            _lines = new StreamWriter(path + ".tmp", append: false, new UTF8Encoding(false));
        }
        else
        {
            _matrix = VectorFile.Create(path, VectorElement.Float32, dimension);
        }
    }

    /// <summary>Rows written.</summary>
    public long Count { get; private set; }

    /// <summary>Appends a row.</summary>
    public void Append(long number, ReadOnlySpan<float> values, JsonObject? json)
    {
        if (_matrix is not null)
        {
            _matrix.Append(values);
        }
        else
        {
            var row = json is null ? new JsonObject { ["id"] = number - 1 } : (JsonObject)json.DeepClone();
            var array = new JsonArray();
            foreach (var v in values)
            {
                array.Add(v);
            }

            row[_field] = array;
            _lines!.WriteLine(row.ToJsonString(LineOptions));
        }

        Count++;
    }

    /// <summary>Finishes and renames the file into place.</summary>
    public void Complete()
    {
        if (_matrix is not null)
        {
            _matrix.Complete();
        }
        else
        {
            _lines!.Dispose();
            File.Move(_path + ".tmp", _path, overwrite: true);
        }

        _completed = true;
    }

    /// <summary>Closes; without <see cref="Complete"/>, deletes what was written.</summary>
    public void Dispose()
    {
        _matrix?.Dispose();
        if (_lines is not null)
        {
            _lines.Dispose();
            if (!_completed)
            {
                PrepFiles.TryDelete(_path + ".tmp");
            }
        }
    }
}
