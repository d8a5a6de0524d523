using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using nietras.SeparatedValues;

namespace Quiver.Toolbox.Formats;

/// <summary>How a CSV column maps onto a collection: a declared field, the packed dynamic field <c>$meta</c>, or one
/// dynamic key.</summary>
internal readonly record struct CsvColumn(string Name, FieldSchema? Field, bool IsMeta)
{
    /// <summary>The columns of <paramref name="names"/> for <paramref name="schema"/>: a name that is not a field is a
    /// dynamic key when the collection has a dynamic field, else an error.</summary>
    public static CsvColumn[] Map(string path, CollectionSchema schema, IReadOnlyList<string> names)
    {
        var columns = new CsvColumn[names.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            var field = schema.Find(name);
            if (!seen.Add(name))
            {
                throw new ToolboxException($"'{path}': {FileText.Column(i, name, field)} appears twice in the header");
            }

            var meta = field is null && name == CollectionSchema.DynamicFieldName;
            if (field is null && !schema.EnableDynamicField)
            {
                throw new ToolboxException($"'{path}': {FileText.Column(i, name, field)} of the header is not a field of the collection, which has no dynamic field");
            }

            columns[i] = new CsvColumn(name, field, meta);
        }

        return columns;
    }

    /// <summary>The separator of <paramref name="path"/>: <see cref="FormatOptions.Delimiter"/>, or a tab for a
    /// <c>.tsv</c> file left at the default ','.</summary>
    public static char Separator(string path, FormatOptions options) =>
        options.Delimiter == ',' && path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : options.Delimiter;
}

/// <summary>
/// Reads CSV (RFC 4180 quoting) with a header row of field names, streaming through Sep. Cells are converted by the
/// field's type: integers and floating point in invariant culture, Bool as <c>true</c>/<c>false</c> (or 1/0), VarChar as
/// the text, JSON, Array and FloatVector as JSON text (<c>"[0.1,0.2]"</c>), <c>$meta</c> as a JSON object of dynamic
/// keys; a column that is not a field is a dynamic key (its cell as JSON when it parses, else as text). An empty
/// unquoted cell is null (for <c>$meta</c> or a dynamic key: the row has no such key); a quoted empty cell
/// (<c>""</c>) is the empty string. A cell of the wrong type, or a record
/// with the wrong number of cells, is a row error naming the line and the field. Rows are numbered by the line they
/// start on (the header is line 1); blank lines are not rows.
/// </summary>
internal sealed class CsvRowReader : IRowReader
{
    private readonly RowSource _source;
    private readonly string _path;
    private readonly CollectionSchema _schema;
    private readonly char _separator;

    /// <summary>A reader of <paramref name="source"/>; the file is opened when reading starts.</summary>
    public CsvRowReader(RowSource source, CollectionSchema schema, FormatOptions options)
    {
        _source = source;
        _path = source.Name;
        _schema = schema;
        _separator = CsvColumn.Separator(_path, options);
    }

    /// <inheritdoc />
    public long? TotalRows => null;

    /// <inheritdoc />
    public async IAsyncEnumerable<SourceRow> ReadAsync(long skip, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        // Sep may or may not close the stream it reads; this reader closes it either way.
        using var stream = _source.Open();
        using var reader = Open(stream);
        var columns = Header(reader);
        long rows = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var next = Next(reader, columns, skip, ref rows);
            if (next is not { } row)
            {
                yield break;
            }

            yield return row;

            // The Sep reader is synchronous; let other work run between rows of a large file.
            if ((rows & 1023) == 0)
            {
                await Task.Yield();
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private SepReader Open(Stream stream)
    {
        try
        {
            return Sep.New(_separator).Reader(o => o with
            {
                HasHeader = true,
                DisableColCountCheck = true,
                Unescape = false,
                CultureInfo = CultureInfo.InvariantCulture,
            }).From(stream);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or NotSupportedException)
        {
            // Sep's message quotes header names (a name found twice): withhold them.
            throw new ToolboxException($"'{_path}': not a CSV file with a header row: {FileText.WithoutQuotes(e.Message)}", e);
        }
    }

    private CsvColumn[] Header(SepReader reader)
    {
        if (reader.Header.IsEmpty)
        {
            throw new ToolboxException($"'{_path}': no header row (the first line must name the fields)");
        }

        var names = reader.Header.ColNames.Select(n => Unquote(n.AsSpan(), out _) ?? "").ToArray();
        var columns = CsvColumn.Map(_path, _schema, names);
        foreach (var field in _schema.Fields)
        {
            var required = !field.Nullable && field.DefaultValue is null && !(field.IsPrimaryKey && field.AutoId);
            if (required && !names.Contains(field.Name, StringComparer.Ordinal))
            {
                throw new ToolboxException($"'{_path}': the header has no column for required field '{field.Name}'");
            }
        }

        return columns;
    }

    /// <summary>The longest record Sep reads (its buffer's limit, in characters): a longer one fails the read.</summary>
    internal const int MaxRecordChars = 16 * 1024 * 1024;

    /// <summary>The line after the last record read (Sep's <c>LineNumberToExcl</c>): where the next record starts.</summary>
    private int _nextLine = 2;

    /// <summary>Moves to the next record; a record longer than <see cref="MaxRecordChars"/> ends the read with an error
    /// naming the file and the line it starts on. Sep refuses it with its own text ("Buffer or row has reached maximum
    /// supported length"), which named neither, and cannot read on past it.</summary>
    private bool MoveNext(SepReader reader)
    {
        try
        {
            return reader.MoveNext();
        }
        catch (NotSupportedException e)
        {
            throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                $"'{_path}': line {_nextLine}: a record longer than {MaxRecordChars:N0} characters (the CSV reader's limit); a record holds one row and may be at most that long"), e);
        }
    }

    private SourceRow? Next(SepReader reader, CsvColumn[] columns, long skip, ref long rows)
    {
        while (MoveNext(reader))
        {
            var row = reader.Current;
            _nextLine = row.LineNumberToExcl;
            if (row.ColCount == 1 && row.Span.IsWhiteSpace())
            {
                continue;
            }

            rows++;
            if (rows <= skip)
            {
                continue;
            }

            long line = row.LineNumberFrom;
            var raw = row.Span.ToString();
            if (row.ColCount != columns.Length)
            {
                return new SourceRow(line, null, string.Create(CultureInfo.InvariantCulture,
                    $"line {line}: {row.ColCount} cells, but the header has {columns.Length}"), raw);
            }

            var values = new Dictionary<string, object?>(columns.Length, StringComparer.Ordinal);
            for (var c = 0; c < columns.Length; c++)
            {
                var column = columns[c];
                var text = Unquote(row[c].Span, out var quoted);
                if (text is null)
                {
                    if (!quoted)
                    {
                        // An empty cell of a declared field is null; of $meta or a dynamic key, no key at all.
                        if (column.Field is not null)
                        {
                            values[column.Name] = null;
                        }

                        continue;
                    }

                    return new SourceRow(line, null, $"line {line}, field '{column.Name}': unterminated quoted cell", raw);
                }

                var value = Convert(column, text, quoted, out var error);
                if (error is not null)
                {
                    return new SourceRow(line, null, $"line {line}, field '{column.Name}': {error}", raw);
                }

                values[column.Name] = value;
            }

            return new SourceRow(line, values, null, raw);
        }

        return null;
    }

    /// <summary>The cell's text: quotes removed and doubled quotes undone. Null for an empty unquoted cell
    /// (<paramref name="quoted"/> false) or a malformed quoted one (<paramref name="quoted"/> true).</summary>
    internal static string? Unquote(ReadOnlySpan<char> cell, out bool quoted)
    {
        quoted = cell.Length > 0 && cell[0] == '"';
        if (!quoted)
        {
            return cell.Length == 0 ? null : cell.ToString();
        }

        if (cell.Length < 2 || cell[^1] != '"')
        {
            return null;
        }

        var inner = cell[1..^1];
        return inner.Contains('"') ? inner.ToString().Replace("\"\"", "\"", StringComparison.Ordinal) : inner.ToString();
    }

    private static object? Convert(CsvColumn column, string text, bool quoted, out string? error)
    {
        error = null;
        if (column.Field is not { } field)
        {
            if (column.IsMeta)
            {
                return ParseJson(text, out error);
            }

            // A dynamic key: JSON when the cell is JSON (numbers, booleans, objects), else the text itself.
            return !quoted && TryParseJson(text, out var json) ? json : text;
        }

        var type = field.DataType;
        if (type == DataType.VarChar)
        {
            return text;
        }

        if (type.IsInteger())
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite,
                    CultureInfo.InvariantCulture, out var l))
            {
                return l;
            }

            error = $"expected {type}, got a cell that is not a whole number";
            return null;
        }

        if (type.IsFloatingPoint())
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            {
                return d;
            }

            error = $"expected {type}, got a cell that is not a number";
            return null;
        }

        if (type == DataType.Bool)
        {
            var t = text.Trim();
            if (t.Equals("true", StringComparison.OrdinalIgnoreCase) || t == "1")
            {
                return true;
            }

            if (t.Equals("false", StringComparison.OrdinalIgnoreCase) || t == "0")
            {
                return false;
            }

            error = "expected Bool (true or false), got a cell that is neither";
            return null;
        }

        // JSON, Array and FloatVector cells are JSON text.
        return ParseJson(text, out error);
    }

    private static JsonElement? ParseJson(string text, out string? error)
    {
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            error = string.Create(CultureInfo.InvariantCulture,
                $"not valid JSON at byte {e.BytePositionInLine ?? 0} of the cell: {JsonlReader.JsonErrorText(e)}");
            return null;
        }
    }

    private static bool TryParseJson(string text, out JsonElement value)
    {
        var parsed = ParseJson(text, out var error);
        value = parsed ?? default;
        return error is null;
    }
}

/// <summary>
/// Writes CSV: a header of field names (<see cref="FormatOptions.Fields"/>, or every declared field plus <c>$meta</c>
/// holding each row's dynamic keys as one JSON object), then one record per row. Numbers in invariant culture (float32
/// values in their shortest round-trip form), Bool as true/false, VarChar as text, JSON, Array and FloatVector as JSON
/// text; null as an empty cell and the empty string as <c>""</c>, so that <see cref="CsvRowReader"/> reads back exactly
/// what was written. Cells holding the separator, a quote or a line break are quoted. The file appears at its path
/// only on <see cref="CompleteAsync"/>.
/// </summary>
internal sealed class CsvRowWriter : IRowWriter
{
    private readonly PendingFile _file;
    private readonly StreamWriter _text;
    private readonly SepWriter _writer;
    private readonly CsvColumn[] _columns;
    private readonly CollectionSchema _schema;
    private readonly char _separator;
    private bool _closed;

    /// <summary>Starts <paramref name="path"/> (as a temporary file until completed) and writes the header.</summary>
    public CsvRowWriter(string path, CollectionSchema schema, FormatOptions options)
    {
        _schema = schema;
        _separator = CsvColumn.Separator(path, options);
        var names = options.Fields ?? [.. schema.Fields.Select(f => f.Name), .. schema.EnableDynamicField ? [CollectionSchema.DynamicFieldName] : Array.Empty<string>()];
        _columns = CsvColumn.Map(path, schema, names);
        _file = new PendingFile(path);
        _text = new StreamWriter(_file.Stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16, leaveOpen: true);

        // The header is written as the first record, so that a file with no rows still names its columns.
        _writer = Sep.New(_separator).Writer(o => o with
        {
            WriteHeader = false,
            Escape = false,
            CultureInfo = CultureInfo.InvariantCulture,
        }).To(_text, leaveOpen: true);
        using var header = _writer.NewRow();
        for (var c = 0; c < _columns.Length; c++)
        {
            header[c].Set(Escape(_columns[c].Name));
        }
    }

    /// <inheritdoc />
    public Task WriteAsync(IReadOnlyList<Row> rows, CancellationToken cancellationToken)
    {
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Sep refuses a row started with a cancellable token unless it is disposed asynchronously, which a ref
            // struct cannot be here; cancellation is checked per row above instead.
            using var record = _writer.NewRow(CancellationToken.None);
            for (var c = 0; c < _columns.Length; c++)
            {
                record[c].Set(Cell(_columns[c], row));
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task CompleteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Close();
        _file.Commit();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Close();
        _file.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Flushes the Sep writer into the text writer and that into the file, which stays open (leaveOpen)
    /// until the commit closes and renames it, or disposal deletes it.</summary>
    private void Close()
    {
        if (!_closed)
        {
            _closed = true;
            _writer.Dispose();
            _text.Dispose();
        }
    }

    private string Cell(CsvColumn column, Row row)
    {
        if (column.IsMeta)
        {
            return Meta(row);
        }

        if (!row.TryGetValue(column.Name, out var value) || value is null)
        {
            return "";
        }

        return value switch
        {
            string s => s.Length == 0 ? "\"\"" : Escape(s),
            bool b => b ? "true" : "false",
            long l => l.ToString(CultureInfo.InvariantCulture),
            int i => i.ToString(CultureInfo.InvariantCulture),
            short sh => sh.ToString(CultureInfo.InvariantCulture),
            sbyte sb => sb.ToString(CultureInfo.InvariantCulture),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            JsonElement { ValueKind: JsonValueKind.String } e when column.Field is null => Escape(e.GetString()!),
            JsonElement e => Escape(e.GetRawText()),
            _ => Escape(JsonText(value)),
        };
    }

    /// <summary>The row's keys that are not declared fields, as one JSON object; empty (null) when there are none.</summary>
    private string Meta(Row row)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var any = false;
            foreach (var (name, value) in row)
            {
                if (_schema.IndexOf(name) >= 0)
                {
                    continue;
                }

                if (!any)
                {
                    json.WriteStartObject();
                    any = true;
                }

                json.WritePropertyName(name);
                JsonlWriter.WriteValue(json, value);
            }

            if (!any)
            {
                return "";
            }

            json.WriteEndObject();
        }

        return Escape(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static string JsonText(object value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            JsonlWriter.WriteValue(json, value);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny(['"', '\r', '\n', _separator]) < 0)
        {
            return text;
        }

        return "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
