using Microsoft.Extensions.Logging;

namespace Quiver.Typed;

public sealed partial class QuiverCollection<TRecord>
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Operation} on {Collection}: {ElapsedMs:F3} ms, {Rows} rows")]
    private partial void LogOperation(string operation, string collection, double elapsedMs, long rows);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Operation} on {Collection} failed ({Code}): {Reason}")]
    private partial void LogFailure(string operation, string collection, string code, string reason);
}
