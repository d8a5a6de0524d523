using System.Globalization;
using System.Runtime.CompilerServices;
using Quiver.Toolbox.Vectors;

namespace Quiver.Toolbox.Formats;

/// <summary>
/// <c>.npy</c> and <c>.fvecs</c> as row files: each row of the matrix is the vector of one field
/// (<see cref="FormatOptions.VectorField"/>, default the collection's only vector field). Reading gives row r (0-based)
/// the key <see cref="FormatOptions.IdStart"/> + r (its decimal text for a VarChar key), or no key when the key is
/// auto_id; the collection must need no other field. Writing keeps only the vectors, in the order given (export writes
/// key order). Both go through <see cref="VectorFile"/>, which checks the header against the file's length before any
/// row is read, so a truncated file fails at open naming the file, the first incomplete row and its byte offset.
/// </summary>
internal static class VectorRowFormat
{
    private const int ChunkRows = 1024;

    /// <summary>The file extension VectorFile uses for a format.</summary>
    public static string Extension(RowFormat format) => format switch
    {
        RowFormat.Npy => ".npy",
        RowFormat.Fvecs => ".fvecs",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a vector file format"),
    };

    /// <summary>Opens <paramref name="source"/> as rows of <paramref name="schema"/>; errors are <see cref="ToolboxException"/>s
    /// naming the file.</summary>
    public static IRowReader OpenReader(RowSource source, RowFormat format, CollectionSchema schema, FormatOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        var path = source.Name;
        var field = VectorField(path, schema, options);
        var key = schema.PrimaryKey;
        foreach (var f in schema.Fields)
        {
            if (f != field && f != key && !f.Nullable && f.DefaultValue is null)
            {
                throw new ToolboxException($"{path}: field '{f.Name}' ({f.DataType}) is required, and a {Extension(format)} file holds only the vectors of '{field.Name}'");
            }
        }

        VectorFile file;
        try
        {
            file = VectorFile.Open(path, source.Open(), Extension(format));
        }
        catch (QuiverException e)
        {
            throw new ToolboxException(e.Message, e);
        }

        try
        {
            if (file.IsInteger)
            {
                throw new ToolboxException($"{path}: holds {VectorFile.Describe(file.Element)} values; expected float vectors (float32, float64 or uint8)");
            }

            if (file.Dimension != field.Dimension)
            {
                throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                    $"{path}: vectors of dimension {file.Dimension}, but field '{field.Name}' has dimension {field.Dimension}"));
            }

            return new Reader(file, field.Name, key.AutoId ? null : key, options.IdStart);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Creates <paramref name="path"/> for the vectors of one field of <paramref name="schema"/>.</summary>
    public static IRowWriter OpenWriter(string path, RowFormat format, CollectionSchema schema, FormatOptions options)
    {
        var field = VectorField(path, schema, options);
        try
        {
            return new Writer(VectorFile.Create(path, VectorElement.Float32, field.Dimension!.Value, Extension(format)), field);
        }
        catch (QuiverException e)
        {
            throw new ToolboxException(e.Message, e);
        }
    }

    private static FieldSchema VectorField(string path, CollectionSchema schema, FormatOptions options)
    {
        if (options.VectorField is { } name)
        {
            var named = schema.Find(name) ?? throw new ToolboxException($"{path}: the collection has no field '{name}' ({options.VectorFieldOption})");
            return named.IsVector ? named : throw new ToolboxException($"{path}: field '{name}' is {named.DataType}, not a vector field ({options.VectorFieldOption})");
        }

        var vectors = schema.Fields.Where(f => f.IsVector).ToList();
        return vectors.Count == 1
            ? vectors[0]
            : throw new ToolboxException($"{path}: the collection has {vectors.Count} vector fields ({string.Join(", ", vectors.Select(v => v.Name))}); say which with {options.VectorFieldOption}");
    }

    private sealed class Reader(VectorFile file, string field, FieldSchema? key, long idStart) : IRowReader
    {
        public long? TotalRows => file.Count;

        public async IAsyncEnumerable<SourceRow> ReadAsync(long skip, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask.ConfigureAwait(false);
            var dim = file.Dimension;
            var buffer = new float[ChunkRows * dim];
            for (var start = (int)Math.Min(skip, file.Count); start < file.Count;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rows = Math.Min(ChunkRows, file.Count - start);
                try
                {
                    file.ReadFloats(start, rows, buffer);
                }
                catch (QuiverException e)
                {
                    throw new ToolboxException(e.Message, e);
                }

                for (var r = 0; r < rows; r++)
                {
                    var index = start + r;
                    var values = new Dictionary<string, object?>(2, StringComparer.Ordinal)
                    {
                        [field] = buffer.AsSpan(r * dim, dim).ToArray(),
                    };
                    if (key is not null)
                    {
                        values[key.Name] = key.DataType == DataType.VarChar
                            ? (idStart + index).ToString(CultureInfo.InvariantCulture)
                            : idStart + index;
                    }

                    yield return new SourceRow(index + 1L, values, null);
                }

                start += rows;
            }
        }

        public ValueTask DisposeAsync()
        {
            file.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Writer(VectorFileWriter file, FieldSchema field) : IRowWriter
    {
        public Task WriteAsync(IReadOnlyList<Row> rows, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dim = field.Dimension!.Value;
            var buffer = new float[rows.Count * dim];
            for (var i = 0; i < rows.Count; i++)
            {
                var value = rows[i].GetValueOrDefault(field.Name)
                    ?? throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"row {file.Count + i + 1}: no value for vector field '{field.Name}'"));
                var vector = FieldValues.ToVector(field.Name, value);
                if (vector.Length != dim)
                {
                    throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                        $"row {file.Count + i + 1}: field '{field.Name}' has {vector.Length} values, the field's dimension is {dim}"));
                }

                vector.CopyTo(buffer, i * dim);
            }

            file.Append<float>(buffer);
            return Task.CompletedTask;
        }

        public Task CompleteAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            file.Complete();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            file.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
