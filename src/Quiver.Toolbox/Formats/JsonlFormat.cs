using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Quiver.Toolbox.Formats;

/// <summary>
/// Reads JSON Lines: one JSON object per line, keys are field names (undeclared keys go to the dynamic field), values
/// as <see cref="JsonElement"/>s, which the engine's value conversion accepts for every type (vectors and arrays as JSON
/// arrays, JSON fields as any JSON value). Blank lines are ignored and are not rows. A line that is not a JSON object is
/// a <see cref="SourceRow"/> with an error naming the line and the byte offset of the problem; reading goes on.
/// </summary>
internal sealed class JsonlReader : IRowReader
{
    private readonly RowSource _source;

    /// <summary>A reader of <paramref name="path"/>; the file is opened when reading starts.</summary>
    public JsonlReader(string path)
        : this(RowSource.FromPath(path))
    {
    }

    /// <summary>A reader of <paramref name="source"/>, opened when reading starts.</summary>
    public JsonlReader(RowSource source) => _source = source;

    /// <inheritdoc />
    public long? TotalRows => null;

    /// <inheritdoc />
    public async IAsyncEnumerable<SourceRow> ReadAsync(long skip, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        var stream = _source.Open();
        using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var lines = new BoundedLines(reader, MaxLineChars);
        long line = 0, rows = 0;
        while (await lines.NextAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (!lines.TooLong && string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            rows++;
            if (rows <= skip)
            {
                continue;
            }

            yield return lines.TooLong
                ? new SourceRow(line, null, string.Create(CultureInfo.InvariantCulture,
                    $"line {line}: longer than {MaxLineChars:N0} characters; a line holds one row and may be at most that long"))
                : Parse(line, text);
        }
    }

    /// <summary>The longest line read as a row, in UTF-16 characters (16 MiB, as the CSV reader's longest row). A longer
    /// line is an error row and is never held whole: a file without line breaks named as JSON Lines used to be read into
    /// one string (a 300 MB file took the server's memory up by 2 GB).</summary>
    internal const int MaxLineChars = 16 * 1024 * 1024;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>One line as a row: its top-level keys and values, or the JSON error with its position.</summary>
    internal static SourceRow Parse(long line, string text)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(text);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return new SourceRow(line, null, string.Create(CultureInfo.InvariantCulture,
                $"line {line}: not valid JSON at byte {e.BytePositionInLine ?? 0}: {JsonErrorText(e)}"), text);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return new SourceRow(line, null, string.Create(CultureInfo.InvariantCulture,
                $"line {line}: expected a JSON object, got a JSON {root.ValueKind}"), text);
        }

        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            values[p.Name] = p.Value.ValueKind == JsonValueKind.Null ? null : p.Value;
        }

        return new SourceRow(line, values, null, text);
    }

    /// <summary>The reason of a <see cref="JsonException"/> without System.Text.Json's trailing "LineNumber: 0 |
    /// BytePositionInLine: 7." (the caller states the position in the file's terms), and without the text it quotes
    /// from the input (<see cref="FileText.WithoutQuotes"/>).</summary>
    internal static string JsonErrorText(JsonException e)
    {
        var message = e.Message;
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return FileText.WithoutQuotes((at > 0 ? message[..at] : message).TrimEnd());
    }
}

/// <summary>
/// Writes JSON Lines: one object per row with every field the row carries (declared fields in schema order, then its
/// dynamic keys), or only <see cref="FormatOptions.Fields"/> in that order; nulls written as <c>null</c>, vectors as
/// arrays of numbers (float32 values in their shortest round-trip form), JSON and arrays as they are. Non-ASCII text
/// is written as is (UTF-8), not as \u escapes. The file appears at its path only on <see cref="CompleteAsync"/>.
/// </summary>
internal sealed class JsonlWriter : IRowWriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly PendingFile _file;
    private readonly IReadOnlyList<string>? _fields;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly Utf8JsonWriter _json;

    /// <summary>Starts <paramref name="path"/> (as a temporary file until completed).</summary>
    public JsonlWriter(string path, CollectionSchema schema, FormatOptions options)
    {
        ArgumentNullException.ThrowIfNull(schema);
        _fields = options.Fields;
        _file = new PendingFile(path);
        _json = new Utf8JsonWriter(_buffer, WriterOptions);
    }

    /// <inheritdoc />
    public async Task WriteAsync(IReadOnlyList<Row> rows, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        foreach (var row in rows)
        {
            _json.Reset(_buffer);
            _json.WriteStartObject();
            if (_fields is null)
            {
                foreach (var (name, value) in row)
                {
                    _json.WritePropertyName(name);
                    WriteValue(_json, value);
                }
            }
            else
            {
                foreach (var name in _fields)
                {
                    if (row.TryGetValue(name, out var value))
                    {
                        _json.WritePropertyName(name);
                        WriteValue(_json, value);
                    }
                }
            }

            _json.WriteEndObject();
            _json.Flush();
            _buffer.Write("\n"u8);
        }

        await _file.Stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task CompleteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _file.Commit();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _json.Dispose();
        _file.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes one value as the engine returns it (long, int, short, sbyte, float, double, bool, string,
    /// JsonElement, float[]; anything else through the serializer).</summary>
    internal static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case string s: json.WriteStringValue(s); break;
            case long l: json.WriteNumberValue(l); break;
            case int i: json.WriteNumberValue(i); break;
            case short sh: json.WriteNumberValue(sh); break;
            case sbyte sb: json.WriteNumberValue(sb); break;
            case float f: json.WriteNumberValue(f); break;
            case double d: json.WriteNumberValue(d); break;
            case bool b: json.WriteBooleanValue(b); break;
            case JsonElement e: e.WriteTo(json); break;
            case float[] v:
                json.WriteStartArray();
                foreach (var x in v)
                {
                    json.WriteNumberValue(x);
                }

                json.WriteEndArray();
                break;
            default: JsonSerializer.Serialize(json, value, value.GetType()); break;
        }
    }
}

/// <summary>
/// Lines of a text, as <see cref="TextReader.ReadLineAsync(CancellationToken)"/> splits them (at <c>\n</c>, <c>\r</c>
/// or <c>\r\n</c>), holding at most <c>maxChars</c> of a line: the rest of a longer line is read past, not kept, and
/// the line is returned empty with <see cref="TooLong"/> set.
/// </summary>
internal sealed class BoundedLines(TextReader reader, int maxChars)
{
    private readonly char[] _buffer = new char[1 << 16];
    private readonly StringBuilder _line = new();
    private int _start, _end;
    private bool _atEnd, _skipLineFeed;

    /// <summary>Whether the line <see cref="NextAsync"/> returned last was longer than the limit.</summary>
    public bool TooLong { get; private set; }

    /// <summary>The next line without its terminator, or null at the end of the text.</summary>
    public async ValueTask<string?> NextAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        TooLong = false;
        var any = false;
        while (true)
        {
            if (_start == _end)
            {
                if (_atEnd)
                {
                    return any ? Line() : null;
                }

                _start = 0;
                _end = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (_end == 0)
                {
                    _atEnd = true;
                    continue;
                }
            }

            if (_skipLineFeed)
            {
                // The \n of a \r\n whose \r ended the previous line.
                _skipLineFeed = false;
                if (_buffer[_start] == '\n')
                {
                    _start++;
                    continue;
                }
            }

            any = true;
            var span = _buffer.AsSpan(_start, _end - _start);
            var at = span.IndexOfAny('\n', '\r');
            var part = at < 0 ? span : span[..at];
            if (!TooLong && _line.Length + part.Length > maxChars)
            {
                TooLong = true;
                _line.Clear();
            }

            if (!TooLong)
            {
                _line.Append(part);
            }

            _start += part.Length;
            if (at >= 0)
            {
                _skipLineFeed = _buffer[_start] == '\r';
                _start++;
                return Line();
            }
        }
    }

    private string Line() => TooLong ? string.Empty : _line.ToString();
}
