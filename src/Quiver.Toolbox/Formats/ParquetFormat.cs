using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Schema;

namespace Quiver.Toolbox.Formats;

/// <summary>
/// Apache Parquet as row files (Parquet.Net). One column per field with its natural Parquet type: Int64, Int32, Int16
/// and Int8 as int64/int32/int16/int8, Bool as boolean, Float as float, Double as double, VarChar as a UTF-8 string,
/// Json and the dynamic field <c>$meta</c> as strings holding JSON text, Array as a list of its element type, and
/// FloatVector as a list of float. Columns of nullable fields are optional; the others are required.
/// <para>Reading maps columns by name. A column may be of any integer width for an integer field, float or double for
/// Float, Double and vectors, and optional or required whatever the field; any other type is refused at open, naming the
/// column and the type expected. A column whose name is no field is a dynamic key when the collection has a dynamic
/// field, and refused otherwise. A missing column is left out of the rows (nullable fields, defaults, auto_id keys); a
/// missing column of a required field is refused at open. The auto_id key column is ignored unless the reader keeps
/// keys (restore), since inserts into such a collection cannot supply keys. Rows are read one row group at a time, so
/// memory is bounded by the largest row group, not the file.</para>
/// <para>Writing writes each batch it gets as one row group, to a temporary file renamed on completion.</para>
/// </summary>
internal static class ParquetFormat
{
    /// <summary>Name of the list element in the columns this writer makes (the Parquet LogicalTypes convention).</summary>
    private const string ElementName = "element";

    /// <summary>Opens <paramref name="path"/> as rows of <paramref name="schema"/>; with <paramref name="keepAutoIdKeys"/>
    /// an auto_id key column is read too (restore upserts rows with their original keys).</summary>
    public static IRowReader OpenReader(string path, CollectionSchema schema, FormatOptions options, bool keepAutoIdKeys = false) =>
        OpenReader(RowSource.FromPath(path), schema, options, keepAutoIdKeys);

    /// <summary>Opens <paramref name="source"/> as rows of <paramref name="schema"/> (see the path overload).</summary>
    public static IRowReader OpenReader(RowSource source, CollectionSchema schema, FormatOptions options, bool keepAutoIdKeys = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var path = source.Name;
        ParquetReader reader;
        var stream = source.Open();
        try
        {
            reader = ParquetReader.CreateAsync(stream, leaveStreamOpen: false).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is ParquetException or IOException or InvalidDataException or ArgumentException or NotSupportedException)
        {
            stream.Dispose();
            // Parquet.Net's message quotes the file's first and last bytes; say what is wrong without them.
            throw new ToolboxException($"{path}: not a readable Parquet file (no valid Parquet header and footer)", e);
        }

        try
        {
            return new Reader(path, reader, Plan(path, reader.Schema, schema, keepAutoIdKeys || options.KeepAutoIdKeys));
        }
        catch
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>Creates <paramref name="path"/> (on completion) with the columns of <paramref name="schema"/>
    /// (<see cref="FormatOptions.Fields"/> narrows and orders them; <c>$meta</c> names the dynamic field).</summary>
    public static IRowWriter OpenWriter(string path, CollectionSchema schema, FormatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var fields = new List<FieldSchema>();
        var names = options.Fields ?? [.. schema.Fields.Select(f => f.Name), .. schema.EnableDynamicField ? [CollectionSchema.DynamicFieldName] : Array.Empty<string>()];
        foreach (var name in names)
        {
            if (schema.Find(name) is { } field)
            {
                fields.Add(field);
            }
            else if (name == CollectionSchema.DynamicFieldName && schema.EnableDynamicField)
            {
                fields.Add(FieldSchema.Json(CollectionSchema.DynamicFieldName, nullable: true));
            }
            else
            {
                throw new ToolboxException($"{path}: the collection has no field '{name}'");
            }
        }

        return new Writer(path, schema, [.. fields.Select(ColumnWriter.For)]);
    }

    // ---- reading ----

    /// <summary>What a file column holds: scalar or list, and the family of its values.</summary>
    private enum Family
    {
        Integer,
        Floating,
        Boolean,
        Text,
        Other,
    }

    /// <summary>How one file column becomes values of one row key.</summary>
    private sealed record ColumnPlan(string Key, DataField Data, bool IsList, bool ListNullable, FieldSchema? Field, int Index);

    private static List<ColumnPlan> Plan(string path, ParquetSchema file, CollectionSchema schema, bool keepAutoIdKeys)
    {
        var plans = new List<ColumnPlan>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (column, index) in file.Fields.Select((c, i) => (c, i)))
        {
            var (data, isList, listNullable) = Shape(column);
            var field = schema.Find(column.Name) ?? (column.Name == CollectionSchema.DynamicFieldName && schema.EnableDynamicField
                ? FieldSchema.Json(CollectionSchema.DynamicFieldName, nullable: true)
                : null);
            seen.Add(column.Name);
            if (field is null && !schema.EnableDynamicField)
            {
                throw new ToolboxException($"{path}: {FileText.Column(index, column.Name, field)} is no field of the collection, which has no dynamic field");
            }

            if (field is { IsPrimaryKey: true, AutoId: true } && !keepAutoIdKeys)
            {
                continue;
            }

            var family = data is null ? Family.Other : FamilyOf(data.ClrType);
            var fits = field is null
                ? data is not null && family != Family.Other
                : data is not null && Fits(field, isList, family);
            if (!fits)
            {
                throw new ToolboxException(field is null
                    ? $"{path}: {FileText.Column(index, column.Name, field)} is {Describe(column, data, isList)}, which the dynamic field cannot hold"
                    : $"{path}: column '{column.Name}' is {Describe(column, data, isList)}; field '{column.Name}' ({Declared(field)}) needs {Expected(field)}");
            }

            plans.Add(new ColumnPlan(column.Name, data!, isList, listNullable, field, index));
        }

        foreach (var f in schema.Fields)
        {
            if (!seen.Contains(f.Name) && !f.Nullable && f.DefaultValue is null && !f.AutoId)
            {
                throw new ToolboxException($"{path}: no column '{f.Name}', and field '{f.Name}' ({Declared(f)}) is required");
            }
        }

        return plans;
    }

    /// <summary>The data field of a top-level column: a plain column, a list of a plain element (LIST convention), or
    /// a bare repeated column; anything nested deeper has no data field here.</summary>
    private static (DataField? Data, bool IsList, bool ListNullable) Shape(Field column) => column switch
    {
        ListField { Item: DataField item } list when item.MaxRepetitionLevel == 1 => (item, true, list.IsNullable),
        DataField { MaxRepetitionLevel: 1 } repeated => (repeated, true, false),
        DataField { MaxRepetitionLevel: 0 } plain => (plain, false, false),
        _ => (null, false, false),
    };

    private static Family FamilyOf(Type type) =>
        type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(sbyte) || type == typeof(byte)
        || type == typeof(ushort) || type == typeof(uint) || type == typeof(ulong) ? Family.Integer
        : type == typeof(float) || type == typeof(double) ? Family.Floating
        : type == typeof(bool) ? Family.Boolean
        : type == typeof(string) || type == typeof(ReadOnlyMemory<char>) ? Family.Text
        : Family.Other;

    private static bool Fits(FieldSchema field, bool isList, Family family) => field.DataType switch
    {
        DataType.Int8 or DataType.Int16 or DataType.Int32 or DataType.Int64 => !isList && family == Family.Integer,
        DataType.Float or DataType.Double => !isList && family == Family.Floating,
        DataType.Bool => !isList && family == Family.Boolean,
        DataType.VarChar or DataType.Json => !isList && family == Family.Text,
        DataType.FloatVector => isList && family == Family.Floating,
        DataType.Array => isList && family == (field.ElementType switch
        {
            DataType.Bool => Family.Boolean,
            DataType.VarChar => Family.Text,
            DataType.Float or DataType.Double => Family.Floating,
            _ => Family.Integer,
        }),
        _ => false,
    };

    private static string Declared(FieldSchema? field) => field switch
    {
        null => "dynamic key",
        { DataType: DataType.Array } => $"Array of {field.ElementType}",
        { DataType: DataType.FloatVector } => string.Create(CultureInfo.InvariantCulture, $"FloatVector of dimension {field.Dimension}"),
        _ => field.DataType.ToString(),
    };

    private static string Expected(FieldSchema? field) => field?.DataType switch
    {
        null => "a column of numbers, booleans or strings, or a list of them",
        DataType.Int64 => "an integer column (int64)",
        DataType.Int32 => "an integer column (int32)",
        DataType.Int16 => "an integer column (int16)",
        DataType.Int8 => "an integer column (int8)",
        DataType.Float => "a float column",
        DataType.Double => "a double column",
        DataType.Bool => "a boolean column",
        DataType.VarChar => "a string column",
        DataType.Json => "a string column holding JSON text",
        DataType.FloatVector => "a list of float",
        DataType.Array => field.ElementType switch
        {
            DataType.Bool => "a list of boolean",
            DataType.VarChar => "a list of string",
            DataType.Float or DataType.Double => "a list of float or double",
            _ => "a list of integers",
        },
        _ => "a column this reader does not map",
    };

    private static string Describe(Field column, DataField? data, bool isList) =>
        data is null ? $"a nested {column.SchemaType} column"
        : isList ? $"a list of {TypeName(data.ClrType)}"
        : $"a {TypeName(data.ClrType)} column";

    private static string TypeName(Type type) =>
        type == typeof(ReadOnlyMemory<char>) || type == typeof(string) ? "string"
        : type == typeof(long) ? "int64"
        : type == typeof(int) ? "int32"
        : type == typeof(short) ? "int16"
        : type == typeof(sbyte) ? "int8"
        : type == typeof(float) ? "float"
        : type == typeof(double) ? "double"
        : type == typeof(bool) ? "boolean"
        : type.Name;

    private sealed class Reader(string path, ParquetReader reader, List<ColumnPlan> plans) : IRowReader
    {
        public long? TotalRows => reader.Metadata?.NumRows;

        public async IAsyncEnumerable<SourceRow> ReadAsync(long skip, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            long first = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                var group = reader.OpenRowGroupReader(g);
                var count = (int)group.RowCount;
                if (first + count <= skip)
                {
                    first += count;
                    continue;
                }

                var columns = new ColumnValues[plans.Count];
                for (var c = 0; c < plans.Count; c++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    try
                    {
                        columns[c] = await ColumnValues.ReadAsync(group, plans[c], count, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is ParquetException or IOException or InvalidDataException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
                    {
                        throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                            $"{path}: row group {g + 1} (rows {first + 1}..{first + count}), {FileText.Column(plans[c].Index, plans[c].Key, plans[c].Field)} cannot be read: {FileText.WithoutQuotes(e.Message)}"), e);
                    }
                }

                for (var r = (int)Math.Max(0, skip - first); r < count; r++)
                {
                    var values = new Dictionary<string, object?>(plans.Count, StringComparer.Ordinal);
                    string? error = null;
                    for (var c = 0; c < plans.Count && error is null; c++)
                    {
                        error = columns[c].Take(r, plans[c], values);
                    }

                    yield return error is null ? new SourceRow(first + r + 1, values, null) : new SourceRow(first + r + 1, null, error);
                }

                first += count;
            }
        }

        public ValueTask DisposeAsync() => reader.DisposeAsync();
    }

    /// <summary>One column of one row group: per row a scalar, or a list (null for a null list).</summary>
    private sealed class ColumnValues
    {
        private readonly object?[] _scalars;
        private readonly List<object?>?[] _lists;

        private ColumnValues(int rows, bool isList)
        {
            _scalars = isList ? [] : new object?[rows];
            _lists = isList ? new List<object?>?[rows] : [];
        }

        public static ValueTask<ColumnValues> ReadAsync(ParquetRowGroupReader group, ColumnPlan plan, int rows, CancellationToken cancellationToken)
        {
            var type = plan.Data.ClrType;
            return type == typeof(long) ? ReadAsync<long>(group, plan, rows, v => v, cancellationToken)
                : type == typeof(int) ? ReadAsync<int>(group, plan, rows, v => (long)v, cancellationToken)
                : type == typeof(short) ? ReadAsync<short>(group, plan, rows, v => (long)v, cancellationToken)
                : type == typeof(sbyte) ? ReadAsync<sbyte>(group, plan, rows, v => (long)v, cancellationToken)
                : type == typeof(byte) ? ReadAsync<byte>(group, plan, rows, v => (long)v, cancellationToken)
                : type == typeof(ushort) ? ReadAsync<ushort>(group, plan, rows, v => (long)v, cancellationToken)
                : type == typeof(uint) ? ReadAsync<uint>(group, plan, rows, v => (long)v, cancellationToken)
                : type == typeof(ulong) ? ReadAsync<ulong>(group, plan, rows, v => v <= long.MaxValue ? (object)(long)v : v, cancellationToken)
                : type == typeof(float) ? ReadAsync<float>(group, plan, rows, v => v, cancellationToken)
                : type == typeof(double) ? ReadAsync<double>(group, plan, rows, v => v, cancellationToken)
                : type == typeof(bool) ? ReadAsync<bool>(group, plan, rows, v => v, cancellationToken)
                : type == typeof(ReadOnlyMemory<char>) ? ReadAsync<ReadOnlyMemory<char>>(group, plan, rows, v => v.ToString(), cancellationToken)
                : throw new InvalidOperationException($"column type {type.Name} is not mapped");
        }

        private static async ValueTask<ColumnValues> ReadAsync<T>(
            ParquetRowGroupReader group, ColumnPlan plan, int rows, Func<T, object> box, CancellationToken cancellationToken)
            where T : struct
        {
            var data = plan.Data;
            var levels = checked((int)(group.GetMetadata(data)?.MetaData?.NumValues ?? rows));
            var values = new T[levels];
            var definitions = new int[levels];
            var repetitions = new int[levels];
            await group.ReadRawAsync<T>(data, values, definitions, repetitions, cancellationToken).ConfigureAwait(false);

            var result = new ColumnValues(rows, plan.IsList);
            var max = data.MaxDefinitionLevel;
            var next = 0;
            if (!plan.IsList)
            {
                for (var i = 0; i < rows; i++)
                {
                    result._scalars[i] = definitions[i] == max ? box(values[next++]) : null;
                }

                return result;
            }

            // Definition levels of a list column: max = element present; max-1 = null element (when the element is
            // optional); the level below those = an empty list; lower = a null list.
            var empty = max - 1 - (data.IsNullable ? 1 : 0);
            var row = -1;
            for (var i = 0; i < levels; i++)
            {
                var definition = definitions[i];
                if (repetitions[i] == 0)
                {
                    row++;
                    if (row >= rows)
                    {
                        throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"more list starts than the row group's {rows} rows"));
                    }

                    result._lists[row] = definition < empty ? null : [];
                }

                if (definition > empty)
                {
                    result._lists[row]!.Add(definition == max ? box(values[next++]) : null);
                }
            }

            return result;
        }

        /// <summary>Puts row <paramref name="row"/>'s value into <paramref name="into"/>; an error text for a value the
        /// field cannot take (a vector of the wrong length or with a null, an integer out of range).</summary>
        public string? Take(int row, ColumnPlan plan, Dictionary<string, object?> into)
        {
            var field = plan.Field;
            if (!plan.IsList)
            {
                var value = _scalars[row];
                if (value is ulong big)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"field '{plan.Key}': value {big} is out of range for Int64");
                }

                if (field is not null && field.Name == CollectionSchema.DynamicFieldName && value is null)
                {
                    // No dynamic keys. ($meta's JSON object text is unpacked into dynamic keys by the engine.)
                    return null;
                }

                into[plan.Key] = value;
                return null;
            }

            var list = _lists[row];
            if (field is not { DataType: DataType.FloatVector })
            {
                into[plan.Key] = list;
                return null;
            }

            if (list is null)
            {
                into[plan.Key] = null;
                return null;
            }

            if (list.Count != field.Dimension)
            {
                return string.Create(CultureInfo.InvariantCulture, $"field '{plan.Key}': vector of {list.Count} values, the field's dimension is {field.Dimension}");
            }

            var vector = new float[list.Count];
            for (var i = 0; i < vector.Length; i++)
            {
                switch (list[i])
                {
                    case float f:
                        vector[i] = f;
                        break;
                    case double d:
                        vector[i] = (float)d;
                        break;
                    default:
                        return string.Create(CultureInfo.InvariantCulture, $"field '{plan.Key}': vector component {i} is null");
                }
            }

            into[plan.Key] = vector;
            return null;
        }
    }

    // ---- writing ----

    private sealed class Writer : IRowWriter
    {
        private readonly string _path;
        private readonly string _temporary;
        private readonly CollectionSchema _schema;
        private readonly ColumnWriter[] _columns;
        private readonly ParquetSchema _parquet;
        private FileStream? _stream;
        private ParquetWriter? _writer;
        private long _rows;

        public Writer(string path, CollectionSchema schema, ColumnWriter[] columns)
        {
            _path = path;
            _temporary = string.Create(CultureInfo.InvariantCulture, $"{path}.{Guid.NewGuid():N}.tmp");
            _schema = schema;
            _columns = columns;
            _parquet = new ParquetSchema(columns.Select(c => c.Column));
            _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        }

        public async Task WriteAsync(IReadOnlyList<Row> rows, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(rows);
            var stream = _stream ?? throw new ObjectDisposedException(nameof(ParquetFormat));
            if (rows.Count == 0)
            {
                return;
            }

            _writer ??= await ParquetWriter.CreateAsync(_parquet, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            using var group = _writer.CreateRowGroup();
            foreach (var column in _columns)
            {
                await column.WriteAsync(group, rows, _schema, _rows, cancellationToken).ConfigureAwait(false);
            }

            group.CompleteValidate();
            _rows += rows.Count;
        }

        public async Task CompleteAsync(CancellationToken cancellationToken)
        {
            var stream = _stream ?? throw new ObjectDisposedException(nameof(ParquetFormat));
            _writer ??= await ParquetWriter.CreateAsync(_parquet, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await _writer.DisposeAsync().ConfigureAwait(false);
            _writer = null;
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
            await stream.DisposeAsync().ConfigureAwait(false);
            _stream = null;
            File.Move(_temporary, _path, overwrite: true);
        }

        public async ValueTask DisposeAsync()
        {
            if (_stream is null)
            {
                return;
            }

            try
            {
                if (_writer is not null)
                {
                    await _writer.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is ParquetException or IOException or InvalidOperationException)
            {
                // The file is deleted below; a writer failing to finish it does not matter.
            }
            finally
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
                _stream = null;
                File.Delete(_temporary);
            }
        }
    }

    /// <summary>Writes one field's column of a row group.</summary>
    private sealed class ColumnWriter
    {
        private readonly FieldSchema _field;
        private readonly DataField _data;

        private ColumnWriter(FieldSchema field, Field column, DataField data)
        {
            _field = field;
            Column = column;
            _data = data;
        }

        /// <summary>The column in the file's schema.</summary>
        public Field Column { get; }

        public static ColumnWriter For(FieldSchema field)
        {
            if (field.DataType is DataType.Array or DataType.FloatVector)
            {
                var element = field.DataType == DataType.FloatVector ? DataType.Float : field.ElementType!.Value;
                var item = new DataField(ElementName, ClrType(element), isNullable: false);
                return new ColumnWriter(field, new ListField(field.Name, item), item);
            }

            var data = new DataField(field.Name, ClrType(field.DataType), isNullable: field.Nullable);
            return new ColumnWriter(field, data, data);
        }

        private static Type ClrType(DataType type) => type switch
        {
            DataType.Int64 => typeof(long),
            DataType.Int32 => typeof(int),
            DataType.Int16 => typeof(short),
            DataType.Int8 => typeof(sbyte),
            DataType.Bool => typeof(bool),
            DataType.Float => typeof(float),
            DataType.Double => typeof(double),
            _ => typeof(string),
        };

        public Task WriteAsync(ParquetRowGroupWriter group, IReadOnlyList<Row> rows, CollectionSchema schema, long before, CancellationToken cancellationToken)
        {
            var name = _field.Name;
            if (_field.DataType is DataType.Array or DataType.FloatVector)
            {
                var element = _field.DataType == DataType.FloatVector ? DataType.Float : _field.ElementType!.Value;
                return element switch
                {
                    DataType.Int64 => WriteListAsync(group, rows, before, v => FieldValues.ToInt64(name, v), cancellationToken),
                    DataType.Int32 => WriteListAsync(group, rows, before, v => (int)FieldValues.ToInt64(name, v), cancellationToken),
                    DataType.Int16 => WriteListAsync(group, rows, before, v => (short)FieldValues.ToInt64(name, v), cancellationToken),
                    DataType.Int8 => WriteListAsync(group, rows, before, v => (sbyte)FieldValues.ToInt64(name, v), cancellationToken),
                    DataType.Bool => WriteListAsync(group, rows, before, v => FieldValues.ToBoolean(name, v), cancellationToken),
                    DataType.Float => WriteListAsync(group, rows, before, v => (float)FieldValues.ToDouble(name, v), cancellationToken),
                    DataType.Double => WriteListAsync(group, rows, before, v => FieldValues.ToDouble(name, v), cancellationToken),
                    _ => WriteListAsync(group, rows, before, v => FieldValues.ToText(name, v).AsMemory(), cancellationToken),
                };
            }

            return _field.DataType switch
            {
                DataType.Int64 => WriteScalarAsync(group, rows, before, v => FieldValues.ToInt64(name, v), cancellationToken),
                DataType.Int32 => WriteScalarAsync(group, rows, before, v => (int)FieldValues.ToInt64(name, v), cancellationToken),
                DataType.Int16 => WriteScalarAsync(group, rows, before, v => (short)FieldValues.ToInt64(name, v), cancellationToken),
                DataType.Int8 => WriteScalarAsync(group, rows, before, v => (sbyte)FieldValues.ToInt64(name, v), cancellationToken),
                DataType.Bool => WriteScalarAsync(group, rows, before, v => FieldValues.ToBoolean(name, v), cancellationToken),
                DataType.Float => WriteScalarAsync(group, rows, before, v => (float)FieldValues.ToDouble(name, v), cancellationToken),
                DataType.Double => WriteScalarAsync(group, rows, before, v => FieldValues.ToDouble(name, v), cancellationToken),
                DataType.VarChar => WriteScalarAsync(group, rows, before, v => FieldValues.ToText(name, v).AsMemory(), cancellationToken),
                _ => WriteScalarAsync(group, rows, before, v => FieldValues.ToJsonText(v).AsMemory(), cancellationToken, schema),
            };
        }

        private object? ValueOf(Row row, long number, CollectionSchema? dynamicOf)
        {
            if (dynamicOf is not null && _field.Name == CollectionSchema.DynamicFieldName)
            {
                // Dynamic keys come back as top-level keys of the row; the file keeps them as one JSON object.
                JsonObject? extra = null;
                foreach (var (key, value) in row)
                {
                    if (dynamicOf.IndexOf(key) < 0)
                    {
                        extra ??= [];
                        extra[key] = value is null ? null : JsonNode.Parse(FieldValues.ToJsonText(value));
                    }
                }

                return extra;
            }

            var v = row.GetValueOrDefault(_field.Name);
            if (v is JsonElement { ValueKind: JsonValueKind.Null })
            {
                v = null;
            }

            if (v is null && !_data.IsNullable && _field.DataType != DataType.Array)
            {
                throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"row {number}: no value for field '{_field.Name}', which is not nullable"));
            }

            return v;
        }

        private async Task WriteScalarAsync<T>(
            ParquetRowGroupWriter group, IReadOnlyList<Row> rows, long before, Func<object, T> convert, CancellationToken cancellationToken, CollectionSchema? dynamicOf = null)
            where T : struct
        {
            if (typeof(T) == typeof(ReadOnlyMemory<char>))
            {
                var texts = new string?[rows.Count];
                for (var i = 0; i < rows.Count; i++)
                {
                    texts[i] = ValueOf(rows[i], before + i + 1, dynamicOf) is { } v ? ((ReadOnlyMemory<char>)(object)convert(v)).ToString() : null;
                }

                await group.WriteAsync(_data, texts!, null).ConfigureAwait(false);
                return;
            }

            if (!_data.IsNullable)
            {
                var values = new T[rows.Count];
                for (var i = 0; i < rows.Count; i++)
                {
                    values[i] = convert(ValueOf(rows[i], before + i + 1, dynamicOf)!);
                }

                await group.WriteAsync<T>(_data, values.AsMemory(), null, null, cancellationToken).ConfigureAwait(false);
                return;
            }

            var optional = new T?[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                optional[i] = ValueOf(rows[i], before + i + 1, dynamicOf) is { } v ? convert(v) : null;
            }

            await group.WriteAsync<T>(_data, optional.AsMemory(), null, null, cancellationToken).ConfigureAwait(false);
        }

        private async Task WriteListAsync<T>(
            ParquetRowGroupWriter group, IReadOnlyList<Row> rows, long before, Func<object, T> convert, CancellationToken cancellationToken)
            where T : struct
        {
            var values = new List<T>();
            var definitions = new List<int>();
            var repetitions = new List<int>();
            var max = _data.MaxDefinitionLevel;
            for (var i = 0; i < rows.Count; i++)
            {
                var v = ValueOf(rows[i], before + i + 1, null);
                var items = v is null ? null
                    : _field.DataType == DataType.FloatVector ? FieldValues.ToVector(_field.Name, v).Select(x => (object?)x).ToList()
                    : FieldValues.ToElements(_field.Name, v);
                if (items is null || items.Count == 0)
                {
                    // max-1: an empty list; max-2: a null list (the list itself is optional).
                    definitions.Add(items is null ? max - 2 : max - 1);
                    repetitions.Add(0);
                    continue;
                }

                for (var j = 0; j < items.Count; j++)
                {
                    values.Add(convert(items[j] ?? throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                        $"row {before + i + 1}: field '{_field.Name}' element {j} is null"))));
                    definitions.Add(max);
                    repetitions.Add(j == 0 ? 0 : 1);
                }
            }

            await group.WriteAllPartsAsync<T>(_data, values.ToArray(), definitions.ToArray(), repetitions.ToArray(), cancellationToken).ConfigureAwait(false);
        }
    }
}
