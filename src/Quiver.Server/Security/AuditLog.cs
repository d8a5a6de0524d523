using System.Text;
using System.Text.Json;
using Quiver.Server.Milvus;

namespace Quiver.Server.Security;

/// <summary>
/// The audit log: one JSON object per line with <c>time</c>, <c>requestId</c>, <c>user</c>, <c>peer</c>,
/// <c>method</c>, <c>database</c>, <c>collection</c> and <c>outcome</c>, for authentication failures, permission
/// denials and completed schema and security changes. Never records credentials. Lines are appended and flushed one at a
/// time under a lock; a disabled log (no path) records nothing.
/// </summary>
internal sealed class AuditLog : IDisposable
{
    private readonly Lock _lock = new();
    private readonly FileStream? _stream;

    /// <summary>Opens (appends to) the log at <paramref name="path"/>; null disables it.</summary>
    public AuditLog(string? path)
    {
        if (path is null)
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        _stream = new FileStream(path, options);
    }

    /// <summary>True when lines are written somewhere.</summary>
    public bool Enabled => _stream is not null;

    /// <summary>Appends one record for <paramref name="call"/> with <paramref name="outcome"/> (e.g. <c>ok</c>,
    /// <c>denied PrivilegeSearch</c>, <c>authentication failed</c>, <c>error 1100</c>).</summary>
    public void Record(CallInfo call, string outcome)
    {
        if (_stream is null)
        {
            return;
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", DateTimeOffset.UtcNow);
            json.WriteString("requestId", call.RequestId);
            json.WriteString("user", call.User);
            json.WriteString("peer", call.Peer);
            json.WriteString("transport", call.Transport);
            json.WriteString("method", call.Method);
            json.WriteString("database", call.TargetDatabase);
            json.WriteString("collection", call.TargetCollection);
            json.WriteString("outcome", outcome);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        lock (_lock)
        {
            _stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            _stream.Flush();
        }
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

    /// <inheritdoc />
    public void Dispose() => _stream?.Dispose();
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
