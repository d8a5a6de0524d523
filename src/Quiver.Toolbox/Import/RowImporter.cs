using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Quiver.Toolbox.Formats;
using Quiver.Client;
using Quiver.Writes;

namespace Quiver.Toolbox.Import;

/// <summary>What to do with a row that cannot be imported.</summary>
public enum OnRowError
{
    /// <summary>Stop before sending the batch that holds it; rows of earlier batches stay imported.</summary>
    Abort,

    /// <summary>Leave it out, report it, and go on.</summary>
    Skip,
}

/// <summary>How <see cref="RowImporter"/> writes rows into a collection.</summary>
internal sealed record ImportSettings
{
    /// <summary>The collection written to.</summary>
    public required string Collection { get; init; }

    /// <summary>Its database (null: the client's).</summary>
    public string? Database { get; init; }

    /// <summary>The partition written to (null: <c>_default</c>).</summary>
    public string? Partition { get; init; }

    /// <summary>Rows per write; each write is all-or-nothing. Default 1,000.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>Abort (default) or skip bad rows.</summary>
    public OnRowError OnError { get; init; } = OnRowError.Abort;

    /// <summary>Write with upsert (replace rows with the same key) instead of insert.</summary>
    public bool Upsert { get; init; }

    /// <summary>Source rows already committed by an earlier run (a resumed import): reading starts after them.</summary>
    public long SkipRows { get; init; }

    /// <summary>Send the first batch as upsert (a resumed import whose key is not auto_id: the batch may have been
    /// acknowledged before the interruption without reaching the checkpoint).</summary>
    public bool UpsertFirstBatch { get; init; }

    /// <summary>Read and check every row without writing anything (a dry run): <see cref="ImportResult.Imported"/> counts
    /// the rows that would be sent. The checks are the local ones (format, types, dimension, keys repeated in the
    /// file); a key that already exists in the collection is only found by the write.</summary>
    public bool CheckOnly { get; init; }

    /// <summary>How rows are numbered in messages: "line" (JSONL, CSV) or "row" (Parquet, .npy, .fvecs).</summary>
    public string NumberLabel { get; init; } = "line";

    /// <summary>Rejected rows kept in <see cref="ImportResult.RejectedRows"/> (all are counted and passed to
    /// <see cref="ImportHooks.RejectedAsync"/>). Default 1,000.</summary>
    public int MaxRejectedKept { get; init; } = 1000;
}

/// <summary>Where the importer reports as it goes. Every member is optional.</summary>
internal sealed record ImportHooks
{
    /// <summary>After each acknowledged batch, before the next is read: how far the import has committed. A resumable
    /// caller writes its checkpoint here.</summary>
    public Func<ImportProgress, CancellationToken, Task>? BatchCommittedAsync { get; init; }

    /// <summary>A rejected row (a bad row, or one the target refused), as soon as it is known.</summary>
    public Func<RejectedRow, CancellationToken, Task>? RejectedAsync { get; init; }

    /// <summary>Before every write to the target. A resumable caller makes sure its checkpoint exists here: from the
    /// first write on, a batch may be acknowledged without the caller hearing of it.</summary>
    public Func<CancellationToken, Task>? WritingAsync { get; init; }

    /// <summary>Source rows read so far (a running total), for a progress bar.</summary>
    public Action<long>? RowsRead { get; init; }
}

/// <summary>How far an import has committed.</summary>
/// <param name="RowsDone">Source rows (good or rejected) fully dealt with, from the start of the file: a resumed import
/// skips this many.</param>
/// <param name="LastNumber">The line or row number of the last of them.</param>
/// <param name="Imported">Rows written by this run.</param>
/// <param name="Rejected">Rows rejected by this run.</param>
/// <param name="Batches">Batches acknowledged in this run.</param>
internal sealed record ImportProgress(long RowsDone, long LastNumber, long Imported, long Rejected, long Batches);

/// <summary>A row left out of the import.</summary>
/// <param name="Number">Its line or row number in the file (1-based).</param>
/// <param name="Error">Why, naming the line or row and the field.</param>
/// <param name="Raw">Its text in the file, where the format has one.</param>
/// <param name="Values">Its values when the file was parsed but the row was refused.</param>
public sealed record RejectedRow(
    long Number,
    string Error,
    [property: JsonIgnore] string? Raw,
    [property: JsonIgnore] IReadOnlyDictionary<string, object?>? Values);

/// <summary>What an import did.</summary>
public sealed record ImportResult
{
    /// <summary>The input file (set by the command; null inside a server job).</summary>
    public string? File { get; init; }

    /// <summary>The input format.</summary>
    public string? Format { get; init; }

    /// <summary>The collection written to.</summary>
    public required string Collection { get; init; }

    /// <summary>"folder ./data" or "server http://...".</summary>
    public string? Target { get; init; }

    /// <summary>Source rows read in this run (good and bad).</summary>
    public long RowsRead { get; init; }

    /// <summary>Rows written in this run.</summary>
    public long Imported { get; init; }

    /// <summary>Rows left out in this run.</summary>
    public long Rejected { get; init; }

    /// <summary>Batches acknowledged in this run.</summary>
    public long Batches { get; init; }

    /// <summary>Seconds the run took.</summary>
    public double Seconds { get; init; }

    /// <summary>Source rows read per second.</summary>
    public double RowsPerSecond { get; init; }

    /// <summary>Source rows skipped because an earlier run committed them (a resumed import).</summary>
    public long ResumedAfter { get; init; }

    /// <summary>True when the import stopped at a bad row or a refused batch (<see cref="OnRowError.Abort"/>).</summary>
    public bool Aborted { get; init; }

    /// <summary>Why it stopped, naming the line or row and the field.</summary>
    public string? Error { get; init; }

    /// <summary>The first rejected rows (at most <see cref="ImportSettings.MaxRejectedKept"/>).</summary>
    public IReadOnlyList<RejectedRow> RejectedRows { get; init; } = [];

    /// <summary>Where rejected rows were written (<see cref="ImportOptions.BadRowsFile"/>).</summary>
    public string? BadRowsFile { get; init; }

    /// <summary>The checkpoint left for <see cref="ImportOptions.Resume"/> when the import did not finish; null once it finished.</summary>
    public string? Checkpoint { get; init; }
}

/// <summary>
/// Streams rows from any <see cref="IRowReader"/> into a collection through an <see cref="IQuiverClient"/> (embedded or
/// remote; it knows nothing of the command line, so a server can run it for bulk-import jobs). Memory is bounded by one
/// batch. Each row is validated locally against the schema as it is read (the engine's own
/// <see cref="RowValidator"/>), so a bad row is named by its line or row number and field before anything is sent.
/// Batches are all-or-nothing: with <see cref="OnRowError.Abort"/> the batch holding a bad row is never sent; with
/// <see cref="OnRowError.Skip"/> the row is left out, and a batch the target still refuses (a key that already exists)
/// is split in halves until the refused rows are found, so the good rows land and each refused row is reported.
/// Failures that are not about rows (the target unavailable, cancellation) propagate; everything acknowledged before
/// them has been reported through <see cref="ImportHooks.BatchCommittedAsync"/>. Not thread-safe; one run per instance.
/// </summary>
internal sealed partial class RowImporter
{
    private readonly IQuiverClient _client;
    private readonly CollectionSchema _schema;
    private readonly ImportSettings _settings;
    private readonly ImportHooks _hooks;
    private readonly List<RejectedRow> _kept = [];
    private readonly bool _keysChecked;

    /// <summary>What a row of the file holds: the schema less the fields TextEmbedding functions compute.</summary>
    private readonly CollectionSchema _rowSchema;
    private long _imported;
    private long _rejected;
    private long _batches;

    /// <summary>An importer into <paramref name="settings"/>' collection, whose schema is <paramref name="schema"/>.</summary>
    public RowImporter(IQuiverClient client, CollectionSchema schema, ImportSettings settings, ImportHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.SkipRows);
        _client = client;
        _schema = schema;
        _rowSchema = SchemaFunctions.InputView(schema);
        _settings = settings;
        _hooks = hooks ?? new ImportHooks();

        // Keys the file supplies are checked for repeats within a batch (the engine refuses such a batch whole).
        _keysChecked = !schema.PrimaryKey.AutoId || settings.Upsert;
    }

    /// <summary>Reads <paramref name="reader"/> after <see cref="ImportSettings.SkipRows"/> rows and writes its rows.</summary>
    public async Task<ImportResult> RunAsync(IRowReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var clock = Stopwatch.StartNew();
        var batch = new List<SourceRow>(Math.Min(_settings.BatchSize, 65_536));
        var keys = new Dictionary<PrimaryKey, long>();
        long consumed = _settings.SkipRows, read = 0, lastNumber = 0;
        string? abort = null;
        await foreach (var row in reader.ReadAsync(_settings.SkipRows, cancellationToken).ConfigureAwait(false))
        {
            read++;
            _hooks.RowsRead?.Invoke(read);
            PrimaryKey? key = null;
            var error = row.Error ?? Validate(row, out key);
            if (error is null && key is { } k && keys.TryGetValue(k, out var firstLine))
            {
                if (BatchIsUpsert)
                {
                    // Later rows replace earlier ones under upsert: end the batch so that both are written, in order.
                    abort = await SendAsync(batch, consumed, lastNumber, cancellationToken).ConfigureAwait(false);
                    keys.Clear();
                    if (abort is not null)
                    {
                        break;
                    }
                }
                else
                {
                    error = $"{Where(row.Number)}: the primary key repeats the key of {_settings.NumberLabel} {firstLine}";
                }
            }

            consumed++;
            lastNumber = row.Number;
            if (error is not null)
            {
                await RejectAsync(row, error, cancellationToken).ConfigureAwait(false);
                if (_settings.OnError == OnRowError.Abort)
                {
                    abort = string.Create(CultureInfo.InvariantCulture,
                        $"{error} (the batch holding it was not sent; {_imported} rows were imported before it)");
                    break;
                }

                continue;
            }

            batch.Add(row);
            if (key is { } added)
            {
                keys[added] = row.Number;
            }

            if (batch.Count >= _settings.BatchSize)
            {
                abort = await SendAsync(batch, consumed, lastNumber, cancellationToken).ConfigureAwait(false);
                keys.Clear();
                if (abort is not null)
                {
                    break;
                }
            }
        }

        if (abort is null && batch.Count > 0)
        {
            abort = await SendAsync(batch, consumed, lastNumber, cancellationToken).ConfigureAwait(false);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        return new ImportResult
        {
            Collection = _settings.Collection,
            RowsRead = read,
            Imported = _imported,
            Rejected = _rejected,
            Batches = _batches,
            Seconds = seconds,
            RowsPerSecond = seconds > 0 ? read / seconds : 0,
            ResumedAfter = _settings.SkipRows,
            Aborted = abort is not null,
            Error = abort,
            RejectedRows = _kept,
        };
    }

    private bool BatchIsUpsert => _settings.Upsert || (_settings.UpsertFirstBatch && _batches == 0);

    /// <summary>Checks one row as the engine will; the error names the line or row and the field.</summary>
    private string? Validate(SourceRow row, out PrimaryKey? key)
    {
        key = null;
        try
        {
            var one = RowValidator.Build(_rowSchema, [row.Values!], _settings.Upsert, static _ => 0);
            if (_keysChecked)
            {
                key = one.Key(0);
            }

            return null;
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.InvalidArgument)
        {
            return $"{Where(row.Number)}, {Masked(RowDetail(e.Message, out _), row)}";
        }
    }

    /// <summary>Writes a batch (then clears it). Null when it is committed (with any refused rows rejected under
    /// <see cref="OnRowError.Skip"/>), else why the import stops.</summary>
    private async Task<string?> SendAsync(List<SourceRow> batch, long consumed, long lastNumber, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return null;
        }

        var upsert = BatchIsUpsert;
        var refused = _settings.CheckOnly ? null : await TryWriteAsync(batch, upsert, cancellationToken).ConfigureAwait(false);
        if (refused is not null)
        {
            if (_settings.OnError == OnRowError.Abort)
            {
                var detail = RowDetail(refused.Message, out var index);
                var where = index is { } i && i < batch.Count
                    ? $"{Where(batch[i].Number)}: {Masked(detail, batch[i])}"
                    : $"{Where(batch[0].Number)}..{batch[^1].Number}: {Masked(refused.Message, null)}";
                batch.Clear();
                return string.Create(CultureInfo.InvariantCulture,
                    $"{where} (the target refused the batch, nothing of it was written; {_imported} rows were imported before it)");
            }

            await WriteSplittingAsync(batch, upsert, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _imported += batch.Count;
        }

        batch.Clear();
        _batches++;
        if (_hooks.BatchCommittedAsync is { } committed)
        {
            await committed(new ImportProgress(consumed, lastNumber, _imported, _rejected, _batches), cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Writes <paramref name="rows"/>, halving a refused part until each refused row stands alone.</summary>
    private async Task WriteSplittingAsync(List<SourceRow> rows, bool upsert, CancellationToken cancellationToken)
    {
        var half = rows.Count / 2;
        foreach (var part in (List<SourceRow>[])[rows.GetRange(0, half), rows.GetRange(half, rows.Count - half)])
        {
            if (part.Count == 0)
            {
                continue;
            }

            var refused = await TryWriteAsync(part, upsert, cancellationToken).ConfigureAwait(false);
            if (refused is null)
            {
                _imported += part.Count;
            }
            else if (part.Count == 1)
            {
                await RejectAsync(part[0], $"{Where(part[0].Number)}: {Masked(RowDetail(refused.Message, out _), part[0])}", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WriteSplittingAsync(part, upsert, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Null when written; the exception when the target refused the rows for what they hold (a bad value, a
    /// key that exists). Other failures propagate.</summary>
    private async Task<QuiverException?> TryWriteAsync(List<SourceRow> rows, bool upsert, CancellationToken cancellationToken)
    {
        var values = new IReadOnlyDictionary<string, object?>[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            values[i] = rows[i].Values!;
        }

        if (_hooks.WritingAsync is { } writing)
        {
            await writing(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (upsert)
            {
                await _client.UpsertAsync(_settings.Collection, values, _settings.Partition, _settings.Database, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _client.InsertAsync(_settings.Collection, values, _settings.Partition, _settings.Database, cancellationToken).ConfigureAwait(false);
            }

            return null;
        }
        catch (QuiverException e) when (e.Code is QuiverErrorCode.InvalidArgument or QuiverErrorCode.AlreadyExists)
        {
            return e;
        }
    }

    private async Task RejectAsync(SourceRow row, string error, CancellationToken cancellationToken)
    {
        _rejected++;
        var rejected = new RejectedRow(row.Number, error, row.Raw, row.Raw is null ? row.Values : null);
        if (_kept.Count < _settings.MaxRejectedKept)
        {
            _kept.Add(rejected);
        }

        if (_hooks.RejectedAsync is { } hook)
        {
            await hook(rejected, cancellationToken).ConfigureAwait(false);
        }
    }

    private string Where(long number) => string.Create(CultureInfo.InvariantCulture, $"{_settings.NumberLabel} {number}");

    /// <summary>The part of an engine write error after "insert rejected, nothing written: row 3, " (or "row 3: "),
    /// with the batch index it named.</summary>
    private static string RowDetail(string message, out int? index)
    {
        var match = RowPrefix().Match(message);
        if (!match.Success)
        {
            index = null;
            return message;
        }

        index = int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        return message[match.Length..];
    }

    /// <summary>An engine message about <paramref name="row"/> without what the file holds (<see cref="FileText"/>): the
    /// engine names a refused value ("value 300 is out of range", "primary key 7 already exists") and a key that is not
    /// a field, which are the file's content here. The named field's scalar value and the row's key are masked where
    /// they stand as whole words; for an array every number of the rule is masked (its elements are many; positions go
    /// too); a vector's rules quote only dimensions and positions and are left whole. A name that is no field of the
    /// schema becomes "an undeclared key", and quotes a library put in the rule are withheld. Over-masking (a limit that
    /// happens to equal the value) is the safe side. Without a row (a refusal not pinned to one) every number is
    /// masked.</summary>
    private string Masked(string detail, SourceRow? row)
    {
        if (row is not { Values: { } values })
        {
            return Number().Replace(detail, "…");
        }

        var texts = new List<string>(4);
        var named = FieldPrefix().Match(detail);
        var rest = detail;
        var head = "";
        if (named.Success)
        {
            var name = named.Groups[1].Value;
            var field = _schema.Find(name);
            var known = field is not null || name == CollectionSchema.DynamicFieldName;
            head = known ? $"field '{name}': " : "an undeclared key: ";
            rest = FileText.WithoutQuotes(detail[named.Length..]);
            if (field is not { IsVector: true } && values.TryGetValue(name, out var value) && !ScalarTexts(value, texts))
            {
                rest = Number().Replace(rest, "…");
            }
        }

        if (values.TryGetValue(_schema.PrimaryKey.Name, out var key))
        {
            ScalarTexts(key, texts);
        }

        foreach (var text in texts.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).OrderByDescending(t => t.Length))
        {
            rest = Regex.Replace(rest, $@"(?<![\w.\-]){Regex.Escape(text)}(?![\w.])", "…", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }

        return head + rest;
    }

    /// <summary>Adds the texts under which the engine may quote a scalar <paramref name="value"/>; false (adding
    /// nothing) for an array or object.</summary>
    private static bool ScalarTexts(object? value, List<string> texts)
    {
        switch (value)
        {
            case null:
                return true;
            case string s:
                texts.Add(s);
                return true;
            case JsonElement { ValueKind: JsonValueKind.String } e:
                texts.Add(e.GetString()!);
                return true;
            case JsonElement { ValueKind: JsonValueKind.Number } e:
                texts.Add(e.GetRawText());
                if (e.TryGetInt64(out var l))
                {
                    texts.Add(l.ToString(CultureInfo.InvariantCulture));
                }

                texts.Add(e.GetDouble().ToString(CultureInfo.InvariantCulture));
                return true;
            case JsonElement { ValueKind: JsonValueKind.Array or JsonValueKind.Object }:
            case System.Collections.IEnumerable:
                return false;
            case IFormattable f:
                texts.Add(f.ToString(null, CultureInfo.InvariantCulture));
                return true;
            default:
                return true;
        }
    }

    [GeneratedRegex(@"^(?:insert|upsert) rejected, nothing written: row (\d+)[:,] ")]
    private static partial Regex RowPrefix();

    [GeneratedRegex("^field '([^']*)': ")]
    private static partial Regex FieldPrefix();

    [GeneratedRegex(@"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")]
    private static partial Regex Number();
}
