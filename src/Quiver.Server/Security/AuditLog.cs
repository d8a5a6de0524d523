using System.Globalization;
using System.Text;
using System.Text.Json;
using Quiver.Server.Milvus;

namespace Quiver.Server.Security;

/// <summary>
/// The audit log: one JSON object per line with <c>time</c>, <c>requestId</c>, <c>user</c>, <c>peer</c>,
/// <c>method</c>, <c>database</c>, <c>collection</c>, <c>outcome</c> and <c>count</c>, for authentication failures,
/// permission denials and completed schema and security changes. Never records credentials. A disabled log (no path)
/// records nothing.
/// </summary>
/// <remarks>
/// <para>Floods are aggregated: a failure (an outcome starting <c>authentication failed</c> or <c>denied</c>) is written
/// at once with <c>count</c> 1 and opens a window (<see cref="AuditLogLimits.AggregateWindow"/>) for its kind (client
/// address without the port, user, outcome, method); identical failures inside the window are only counted, and when
/// the window closes one more line of that kind carries their number in <c>count</c> (its <c>time</c> is the last
/// one's). So a flood of N identical failures writes two lines per window whose counts add up to N. Up to
/// <see cref="MaxKinds"/> kinds are counted at once; a new kind beyond that closes the oldest window early. Changes
/// (<c>ok</c>, <c>error ...</c>) are never aggregated.</para>
/// <para>The file's size is capped: a line that would take it past <see cref="AuditLogLimits.MaxBytes"/> first rotates
/// it (<c>audit.jsonl</c> becomes <c>audit.jsonl.1</c>, <c>.1</c> becomes <c>.2</c>, and so on; the oldest beyond
/// <see cref="AuditLogLimits.FilesKept"/> is deleted), so the log never takes more than
/// MaxBytes x (FilesKept + 1) on disk. Lines are written and flushed under a lock; windows close on a timer from the
/// injected <see cref="TimeProvider"/>. Thread-safe.</para>
/// </remarks>
internal sealed class AuditLog : IDisposable
{
    /// <summary>Most failure kinds counted at once.</summary>
    public const int MaxKinds = 256;

    /// <summary>Longest outcome text written (a longer one is cut, marked with an ellipsis).</summary>
    private const int MaxOutcomeChars = 1024;

    private readonly Lock _lock = new();
    private readonly string? _path;
    private readonly AuditLogLimits _limits;
    private readonly TimeProvider _time;
    private readonly Dictionary<Kind, Window> _windows = [];
    private readonly ITimer? _timer;
    private FileStream? _stream;
    private bool _timerArmed;

    /// <summary>Opens (appends to) the log at <paramref name="path"/>; null disables it. <paramref name="limits"/>
    /// default to <see cref="AuditLogLimits"/>' defaults, <paramref name="time"/> to the system clock.</summary>
    public AuditLog(string? path, AuditLogLimits? limits = null, TimeProvider? time = null)
    {
        _limits = limits ?? new AuditLogLimits();
        _limits.Validate();
        _time = time ?? TimeProvider.System;
        if (path is null)
        {
            return;
        }
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _stream = Open(_path);
        _timer = _time.CreateTimer(_ => CloseWindows(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>True when lines are written somewhere.</summary>
    public bool Enabled => _stream is not null;

    /// <summary>Appends one record for <paramref name="call"/> with <paramref name="outcome"/> (e.g. <c>ok</c>,
    /// <c>denied PrivilegeSearch</c>, <c>authentication failed</c>, <c>error 1100</c>); a failure repeated inside its
    /// window is only counted.</summary>
    public void Record(CallInfo call, string outcome)
    {
        if (_stream is null)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var aggregated = _limits.AggregateWindow > TimeSpan.Zero
            && (outcome.StartsWith("authentication failed", StringComparison.Ordinal) || outcome.StartsWith("denied", StringComparison.Ordinal));
        lock (_lock)
        {
            if (_stream is null)
            {
                return;
            }
            if (!aggregated)
            {
                Write(call, outcome, now, 1);
                return;
            }
            var kind = new Kind(SecurityGate.PeerHost(call.Peer), call.User, outcome, call.Method);
            if (_windows.TryGetValue(kind, out var open) && now - open.Opened < _limits.AggregateWindow)
            {
                open.Repeats++;
                open.Last = call;
                open.LastTime = now;
                return;
            }
            if (open is not null)
            {
                Close(kind, open);
            }
            else if (_windows.Count >= MaxKinds)
            {
                var oldest = _windows.MinBy(w => w.Value.Opened);
                Close(oldest.Key, oldest.Value);
            }
            Write(call, outcome, now, 1);
            _windows[kind] = new Window(now, call, now);
            if (!_timerArmed)
            {
                _timerArmed = _timer!.Change(_limits.AggregateWindow, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Writes the counts of every window that has closed, and re-arms the timer for the next one.</summary>
    private void CloseWindows()
    {
        lock (_lock)
        {
            _timerArmed = false;
            if (_stream is null)
            {
                return;
            }
            var now = _time.GetUtcNow();
            foreach (var (kind, window) in _windows.Where(w => now - w.Value.Opened >= _limits.AggregateWindow).ToList())
            {
                Close(kind, window);
            }
            if (_windows.Count > 0)
            {
                var next = _windows.Values.Min(w => w.Opened) + _limits.AggregateWindow - now;
                _timerArmed = _timer!.Change(next > TimeSpan.Zero ? next : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Close(Kind kind, Window window)
    {
        _windows.Remove(kind);
        if (window.Repeats > 0)
        {
            Write(window.Last, kind.Outcome, window.LastTime, window.Repeats);
        }
    }

    private void Write(CallInfo call, string outcome, DateTimeOffset time, long count)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", time);
            json.WriteString("requestId", call.RequestId);
            json.WriteString("user", call.User);
            json.WriteString("peer", call.Peer);
            json.WriteString("transport", call.Transport);
            json.WriteString("method", call.Method);
            json.WriteString("database", call.TargetDatabase);
            json.WriteString("collection", call.TargetCollection);
            json.WriteString("outcome", outcome.Length <= MaxOutcomeChars ? outcome : outcome[..MaxOutcomeChars] + "…");
            json.WriteNumber("count", count);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        if (_stream!.Length > 0 && _stream.Length + buffer.Length > _limits.MaxBytes)
        {
            Rotate();
        }
        _stream!.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _stream.Flush();
    }

    /// <summary>Moves the full file to <c>.1</c> (shifting older ones up, deleting the oldest) and starts an empty one.</summary>
    private void Rotate()
    {
        _stream!.Dispose();
        var keep = _limits.FilesKept;
        try
        {
            if (keep == 0)
            {
                File.Delete(_path!);
            }
            else
            {
                File.Delete(Rotated(keep));
                for (var i = keep - 1; i >= 1; i--)
                {
                    if (File.Exists(Rotated(i)))
                    {
                        File.Move(Rotated(i), Rotated(i + 1));
                    }
                }
                File.Move(_path!, Rotated(1));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder refused a rename or delete: keep appending to the file as it is (past the cap) rather than
            // fail the call being audited; the next line tries again.
        }
        _stream = Open(_path!);
    }

    private string Rotated(int generation) => string.Create(CultureInfo.InvariantCulture, $"{_path}.{generation}");

    private static FileStream Open(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, options);
    }

    /// <summary>The calls that change the schema or the security state, recorded when they complete.</summary>
    public static readonly IReadOnlySet<string> ChangeMethods = new HashSet<string>(StringComparer.Ordinal)
    {
        "CreateDatabase", "DropDatabase", "AlterDatabase",
        "CreateCollection", "DropCollection", "RenameCollection", "AlterCollection", "AlterCollectionField",
        "TruncateCollection", "AddCollectionField", "AddCollectionStructField", "AlterCollectionSchema",
        "AddCollectionFunction", "AlterCollectionFunction", "DropCollectionFunction",
        "CreatePartition", "DropPartition",
        "CreateIndex", "DropIndex", "AlterIndex",
        "CreateAlias", "DropAlias", "AlterAlias",
        "CreateCredential", "UpdateCredential", "DeleteCredential",
        "CreateRole", "DropRole", "AlterRole", "OperateUserRole", "OperatePrivilege", "OperatePrivilegeV2",
        "CreatePrivilegeGroup", "DropPrivilegeGroup", "OperatePrivilegeGroup", "RestoreRBAC",
    };

    /// <summary>The outcome text for a Milvus status code.</summary>
    public static string OutcomeOf(int statusCode, string? reason) =>
        statusCode == 0 ? "ok" : new StringBuilder("error ").Append(statusCode).Append(reason is null ? "" : ": " + reason).ToString();

    /// <summary>Writes the counts of the open windows and closes the file.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        lock (_lock)
        {
            if (_stream is null)
            {
                return;
            }
            foreach (var (kind, window) in _windows.ToList())
            {
                Close(kind, window);
            }
            _stream.Dispose();
            _stream = null;
        }
    }

    /// <summary>What makes two failures identical.</summary>
    private readonly record struct Kind(string Peer, string? User, string Outcome, string Method);

    /// <summary>An open window: when its first failure was written, and the repeats counted since.</summary>
    private sealed class Window(DateTimeOffset opened, CallInfo last, DateTimeOffset lastTime)
    {
        public DateTimeOffset Opened { get; } = opened;

        public long Repeats { get; set; }

        public CallInfo Last { get; set; } = last;

        public DateTimeOffset LastTime { get; set; } = lastTime;
    }
}

/// <summary>How the audit log holds under floods (config keys <c>Security:AuditLogMaxBytes</c>,
/// <c>Security:AuditLogFilesKept</c>, <c>Security:AuditAggregateSeconds</c>).</summary>
internal sealed record AuditLogLimits
{
    /// <summary>Largest size of the current file before it is rotated, in bytes. Default 64 MiB; at least 4 KiB.</summary>
    public long MaxBytes { get; init; } = 64L << 20;

    /// <summary>Rotated files kept beside the current one (<c>.1</c> newest). Default 4; 0 keeps none.</summary>
    public int FilesKept { get; init; } = 4;

    /// <summary>How long identical failures are counted before their count is written. Default 10 s; zero writes
    /// every failure on its own line.</summary>
    public TimeSpan AggregateWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting out of range.</summary>
    public void Validate()
    {
        if (MaxBytes < 4096)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Security:AuditLogMaxBytes {MaxBytes} is below the least, 4096"));
        }
        if (FilesKept is < 0 or > 1000)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Security:AuditLogFilesKept {FilesKept} is out of range 0..1000"));
        }
        if (AggregateWindow < TimeSpan.Zero || AggregateWindow > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("Security:AuditAggregateSeconds is out of range 0..3600");
        }
    }
}

/// <summary>
/// An <see cref="ICallObserver"/> that records completed schema and security changes (<see cref="AuditLog.ChangeMethods"/>)
/// in the audit log and then passes every call on to the observer it wraps (metrics, request log). Register it as the
/// <see cref="ICallObserver"/> around whichever observer the server uses.
/// </summary>
internal sealed class AuditingObserver(ICallObserver inner, AuditLog audit) : ICallObserver
{
    /// <inheritdoc />
    public void Completed(CallInfo call, TimeSpan elapsed, int statusCode, string? reason)
    {
        if (audit.Enabled && AuditLog.ChangeMethods.Contains(call.Method))
        {
            audit.Record(call, AuditLog.OutcomeOf(statusCode, reason));
        }
        inner.Completed(call, elapsed, statusCode, reason);
    }
}
