using Microsoft.Extensions.Logging;
using Quiver.Server.Milvus;

namespace Quiver.Server.Observability;

/// <summary>
/// The server's <see cref="ICallObserver"/>: counts every completed call into <see cref="ServerMetrics"/> and writes the
/// request log, one line a call with its request id, method, transport, Milvus status code and duration: at Debug for
/// success, at Warning for a call that answered an error (its reason included). Unexpected failures are also logged at
/// Error, with the exception, by the call pipeline.
/// </summary>
internal sealed partial class RequestObserver(ServerMetrics metrics, ILogger<RequestObserver> logger) : ICallObserver
{
    /// <inheritdoc/>
    public void Completed(CallInfo call, TimeSpan elapsed, int statusCode, string? reason)
    {
        metrics.RecordCall(call.Method, call.Transport, statusCode, elapsed);
        if (statusCode == 0)
        {
            // Checked here, not only inside: the request id is made on its first read.
            if (!logger.IsEnabled(LogLevel.Debug))
            {
                return;
            }
            LogCompleted(logger, call.RequestId, call.Method, call.Transport, statusCode, elapsed.TotalMilliseconds);
        }
        else
        {
            LogFailed(logger, call.RequestId, call.Method, call.Transport, statusCode, elapsed.TotalMilliseconds, reason ?? "");
        }
    }

    [LoggerMessage(EventId = 1, EventName = "CallCompleted", Level = LogLevel.Debug,
        Message = "request {RequestId} {Method} over {Transport}: code {StatusCode} in {DurationMs:F3} ms")]
    private static partial void LogCompleted(ILogger logger, string requestId, string method, string transport, int statusCode, double durationMs);

    [LoggerMessage(EventId = 2, EventName = "CallFailed", Level = LogLevel.Warning,
        Message = "request {RequestId} {Method} over {Transport}: code {StatusCode} in {DurationMs:F3} ms: {Reason}")]
    private static partial void LogFailed(ILogger logger, string requestId, string method, string transport, int statusCode, double durationMs, string reason);
}
