using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Quiver.Server.Security;

/// <summary>
/// Logs failed TLS handshakes at Warning with their reason, at most one line per <see cref="ReportInterval"/> (the line
/// counts the failures left out since the previous one), so that a flood of bad handshakes cannot fill the log.
/// </summary>
/// <remarks>
/// Kestrel catches a failed handshake itself and reports it only as a Debug event of its HTTPS middleware
/// (<see cref="KestrelCategory"/>, <c>AuthenticationFailed</c> with the exception, <c>AuthenticationTimedOut</c>); no
/// public hook sees the failure. This logger provider is registered for exactly that category at Debug and turns those
/// two events into this server's own Warning (category <see cref="Category"/>); every other provider keeps its level.
/// </remarks>
internal sealed partial class TlsHandshakeLog(TimeProvider time) : ILoggerProvider
{
    /// <summary>The category of Kestrel's HTTPS connection middleware.</summary>
    internal const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel.Https.Internal.HttpsConnectionMiddleware";

    /// <summary>The category the failures are logged under.</summary>
    internal const string Category = "Quiver.Server.Tls";

    /// <summary>Kestrel's event ids: <c>AuthenticationFailed</c> (with the exception) and <c>AuthenticationTimedOut</c>.</summary>
    private const int KestrelAuthenticationFailed = 1, KestrelAuthenticationTimedOut = 2;

    /// <summary>At most one failure line per this interval: 10 s.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private ILogger _target = NullLogger.Instance;
    private long _lastReport;
    private bool _reported;
    private long _leftOut;

    /// <summary>Where the failures go; until set they are dropped (nothing connects before the server starts).</summary>
    public void Attach(ILogger target) => _target = target;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) =>
        categoryName == KestrelCategory ? new Listener(this) : NullLogger.Instance;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    /// <summary>Records one failed handshake; logs it unless one was logged less than <see cref="ReportInterval"/> ago.</summary>
    internal void OnFailure(string reason)
    {
        long leftOut;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (_reported && time.GetElapsedTime(_lastReport, now) < ReportInterval)
            {
                _leftOut++;
                return;
            }
            leftOut = _leftOut;
            _leftOut = 0;
            _lastReport = now;
            _reported = true;
        }
        HandshakeFailed(_target, reason, leftOut);
    }

    /// <summary>The messages of an exception and its inner ones, outermost first ("Authentication failed, see inner
    /// exception.: SSL Handshake failed ...: error:0A000076:SSL routines::no suitable signature algorithm").</summary>
    internal static string Reason(Exception? exception)
    {
        if (exception is null)
        {
            return "unknown";
        }
        var parts = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var message = e.Message.ReplaceLineEndings(" ").Trim();
            if (message.Length > 0 && !parts.Contains(message))
            {
                parts.Add(message);
            }
        }
        return string.Join(": ", parts);
    }

    [LoggerMessage(EventId = 1, EventName = "TlsHandshakeFailed", Level = LogLevel.Warning,
        Message = "TLS handshake failed: {Reason} (failed handshakes not logged since the previous report: {LeftOut})")]
    private static partial void HandshakeFailed(ILogger logger, string reason, long leftOut);

    private sealed class Listener(TlsHandshakeLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            switch (eventId.Id)
            {
                case KestrelAuthenticationFailed:
                    owner.OnFailure(Reason(exception));
                    break;
                case KestrelAuthenticationTimedOut:
                    owner.OnFailure("the client did not finish the handshake in time");
                    break;
            }
        }
    }
}
