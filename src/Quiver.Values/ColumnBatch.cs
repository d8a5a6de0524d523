using System.Text.Json;

namespace Quiver;

/// <summary>
/// One field's values for every row of a <see cref="ColumnBatch"/>, in the engine's canonical form of the field's type.
/// Exactly one value array is set: <see cref="Longs"/> for Int8..Int64, <see cref="Doubles"/> for Float and Double,
/// <see cref="Bools"/>, <see cref="Strings"/> for VarChar, <see cref="Json"/> for JSON and Array (an Array value is a JSON
/// array of its elements), <see cref="Vectors"/> for FloatVector (row-major, rows × dimension floats).
/// </summary>
/// <remarks>A row is null when <see cref="Nulls"/> says so, or when its entry is a null string or an undefined or null
/// JSON element. On writes a null takes the field's default, else is stored as null in a nullable field, else is refused
/// as a missing value, exactly as a missing key of a row is. The arrays are the caller's: the engine reads them during
/// the call and keeps none of them.</remarks>
public sealed class FieldColumn
{
    /// <summary>The field's name.</summary>
    public required string Name { get; init; }

    /// <summary>Integer values (Int8, Int16, Int32, Int64).</summary>
    public long[]? Longs { get; init; }

    /// <summary>Floating-point values (Float, Double).</summary>
    public double[]? Doubles { get; init; }

    /// <summary>Bool values.</summary>
    public bool[]? Bools { get; init; }

    /// <summary>VarChar values; a null entry is a null row.</summary>
    public string?[]? Strings { get; init; }

    /// <summary>JSON values, and Array values as JSON arrays; an undefined or JSON null entry is a null row.</summary>
    public JsonElement[]? Json { get; init; }

    /// <summary>FloatVector values, row-major (rows × dimension).</summary>
    public float[]? Vectors { get; init; }

    /// <summary>SparseFloatVector values, one per row; a null entry is a null row.</summary>
    public SparseVector?[]? Sparse { get; init; }

    /// <summary>True entries are null rows; null when no row is null by this array.</summary>
    public bool[]? Nulls { get; init; }

    /// <summary>On a read's TIMESTAMPTZ column: the time zone its values are written in as text (the read's
    /// <c>timezone</c>, else the collection's); null for UTC. Ignored on writes.</summary>
    public TimeZoneInfo? TimeZone { get; init; }

    /// <summary>The value array's kind, for messages: Int64, Double, Bool, VarChar, JSON, FloatVector or none.</summary>
    public string Kind => Longs is not null ? "Int64" : Doubles is not null ? "Double" : Bools is not null ? "Bool"
        : Strings is not null ? "VarChar" : Json is not null ? "JSON" : Vectors is not null ? "FloatVector" : Sparse is not null ? "SparseFloatVector" : "no";

    /// <summary>Values held (rows; for vectors, floats divided by <paramref name="dimension"/>).</summary>
    public int Length(int dimension = 1) =>
        Longs?.Length ?? Doubles?.Length ?? Bools?.Length ?? Strings?.Length ?? Json?.Length ?? Sparse?.Length ?? (Vectors is null ? 0 : Vectors.Length / Math.Max(1, dimension));

    /// <summary>True when row <paramref name="row"/> is null.</summary>
    public bool IsNull(int row) =>
        (Nulls is { } n && n[row])
        || (Strings is { } s && s[row] is null)
        || (Sparse is { } sv && sv[row] is null)
        || (Json is { } j && j[row].ValueKind is JsonValueKind.Undefined or JsonValueKind.Null);

    /// <summary>Row <paramref name="row"/> as the CLR value of <paramref name="field"/>'s type (Int8 <c>sbyte</c>, Int16
    /// <c>short</c>, Int32 <c>int</c>, Int64 <c>long</c>, Float <c>float</c>, Double <c>double</c>, Bool, string,
    /// <see cref="JsonElement"/> for JSON and Array, <c>float[]</c> for vectors), or null.</summary>
    public object? GetValue(FieldSchema field, int row)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (IsNull(row))
        {
            return null;
        }

        if (Vectors is { } v)
        {
            var dim = field.VectorWidth();
            return field.DataType == DataType.BinaryVector ? VectorCodec.Encode(field, v.AsSpan(row * dim, dim)) : v.AsSpan(row * dim, dim).ToArray();
        }

        return field.DataType.Storage() switch
        {
            DataType.Int8 => (sbyte)Longs![row],
            DataType.Int16 => (short)Longs![row],
            DataType.Int32 => (int)Longs![row],
            // A TIMESTAMPTZ result read back from a server may hold its text, in the read's zone, instead of the instant.
            DataType.Int64 => field.DataType == DataType.Timestamptz && Strings is { } texts ? texts[row] : Longs![row],
            DataType.Float => (float)Doubles![row],
            DataType.Double => Doubles![row],
            DataType.Bool => Bools![row],
            DataType.VarChar => Strings![row],
            DataType.SparseFloatVector => Sparse![row],
            _ => Json![row],
        };
    }

    /// <summary>An empty column of <paramref name="field"/>'s type for <paramref name="rows"/> rows, with a null array
    /// when the field is nullable.</summary>
    public static FieldColumn Allocate(FieldSchema field, int rows)
    {
        ArgumentNullException.ThrowIfNull(field);
        var nulls = field.Nullable ? new bool[rows] : null;
        return field.DataType.Storage() switch
        {
            DataType.Bool => new() { Name = field.Name, Bools = new bool[rows], Nulls = nulls },
            _ when field.DataType.Storage().IsInteger() => new() { Name = field.Name, Longs = new long[rows], Nulls = nulls },
            DataType.Float or DataType.Double => new() { Name = field.Name, Doubles = new double[rows], Nulls = nulls },
            DataType.VarChar => new() { Name = field.Name, Strings = new string?[rows], Nulls = nulls },
            DataType.Json or DataType.Array => new() { Name = field.Name, Json = new JsonElement[rows], Nulls = nulls },
            DataType.SparseFloatVector => new() { Name = field.Name, Sparse = new SparseVector?[rows], Nulls = nulls },
            _ when field.IsVector => new() { Name = field.Name, Vectors = new float[checked(rows * field.VectorWidth())], Nulls = nulls },
            _ => throw new ArgumentOutOfRangeException(nameof(field), field.DataType, "unsupported type"),
        };
    }
}

/// <summary>
/// Rows column by column: the engine's column-oriented write and read form. Writes (the engine's
/// <c>QuiverEngine.InsertAsync(string, ColumnBatch, ...)</c>) are validated as rows are, with the same messages; reads
/// (<c>QuiverEngine.QueryColumnsAsync</c>) return the requested fields with the primary key first; the remote client
/// sends a write's rows as the columns of <see cref="FromRows"/>. The dynamic field travels as one JSON object per row in <see cref="Dynamic"/>.
/// </summary>
public sealed class ColumnBatch
{
    private readonly List<FieldColumn> _columns = [];

    /// <summary>An empty batch of <paramref name="rowCount"/> rows.</summary>
    public ColumnBatch(int rowCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        RowCount = rowCount;
    }

    /// <summary>Number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The declared fields' columns, in the order added.</summary>
    public IReadOnlyList<FieldColumn> Columns => _columns;

    /// <summary>Per row, a JSON object of its dynamic (undeclared) keys, or an undefined element for none; null when the
    /// batch carries no dynamic data.</summary>
    public JsonElement[]? Dynamic { get; set; }

    /// <summary>Adds a column; a name given twice is refused.</summary>
    public ColumnBatch Add(FieldColumn column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (Find(column.Name) is not null)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"field '{column.Name}' appears twice in the batch");
        }

        _columns.Add(column);
        return this;
    }

    /// <summary>The column of a field, or null.</summary>
    public FieldColumn? Find(string name)
    {
        foreach (var c in _columns)
        {
            if (c.Name == name)
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>A new batch of the given rows of this one, in the order given.</summary>
    public ColumnBatch Select(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var result = new ColumnBatch(rows.Count) { Dynamic = Dynamic is { } d ? Gather(d, rows) : null };
        foreach (var c in _columns)
        {
            float[]? vectors = null;
            if (c.Vectors is { } v)
            {
                var dim = RowCount == 0 ? 0 : v.Length / RowCount;
                vectors = new float[rows.Count * dim];
                for (var i = 0; i < rows.Count; i++)
                {
                    v.AsSpan(rows[i] * dim, dim).CopyTo(vectors.AsSpan(i * dim, dim));
                }
            }

            result.Add(new FieldColumn
            {
                Name = c.Name,
                Longs = Gather(c.Longs, rows),
                Doubles = Gather(c.Doubles, rows),
                Bools = Gather(c.Bools, rows),
                Strings = Gather(c.Strings, rows),
                Json = Gather(c.Json, rows),
                Vectors = vectors,
                Sparse = Gather(c.Sparse, rows),
                Nulls = Gather(c.Nulls, rows),
                TimeZone = c.TimeZone,
            });
        }

        return result;
    }

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(values))]
    private static T[]? Gather<T>(T[]? values, IReadOnlyList<int> rows)
    {
        if (values is null)
        {
            return null;
        }

        var result = new T[rows.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = values[rows[i]];
        }

        return result;
    }

    /// <summary>The rows of the batch: each column's value under its field's name (a column the schema does not
    /// declare is skipped), and each dynamic key spread into its row.</summary>
    public IReadOnlyList<Row> ToRows(CollectionSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var rows = new Row[RowCount];
        for (var r = 0; r < RowCount; r++)
        {
            rows[r] = [];
        }

        foreach (var column in _columns)
        {
            if (schema.Find(column.Name) is not { } field)
            {
                continue;
            }

            for (var r = 0; r < RowCount; r++)
            {
                // As reads return them (Search.Projection.ToApi): a Timestamptz as its RFC 3339 text in the column's zone.
                var value = column.GetValue(field, r);
                rows[r][field.Name] = field.DataType == DataType.Timestamptz && value is long micros ? Timestamptz.Format(micros, column.TimeZone) : value;
            }
        }

        if (Dynamic is { } dynamic)
        {
            for (var r = 0; r < RowCount; r++)
            {
                if (dynamic[r] is { ValueKind: JsonValueKind.Object } obj)
                {
                    foreach (var p in obj.EnumerateObject())
                    {
                        rows[r][p.Name] = p.Value.Clone();
                    }
                }
            }
        }

        return rows;
    }

    /// <summary>Rows checked against <paramref name="schema"/> by the rules of an insert (<paramref name="upsert"/>
    /// false) or upsert, with the engine's messages, as columns in schema order. An auto-generated primary key is left
    /// out on insert (the engine assigns it). Lets a remote client refuse what the engine would refuse before sending.</summary>
    public static ColumnBatch FromRows(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, bool upsert)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(rows);
        var batch = Writes.RowValidator.Build(schema, rows, upsert, autoIds: null);
        return batch.ToColumns(includePrimaryKey: upsert || !schema.PrimaryKey.AutoId);
    }
}
