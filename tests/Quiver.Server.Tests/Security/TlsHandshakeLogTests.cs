using Microsoft.Extensions.Logging;
using Quiver.Server.Security;

namespace Quiver.Server.Tests.Security;

public sealed class TlsHandshakeLogTests
{
    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    [Fact]
    public void Failures_AreLoggedOncePerInterval_WithTheCountLeftOut()
    {
        var time = new ManualTime { Ticks = 1_000 };
        using var log = new TlsHandshakeLog(time);
        using var sink = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(sink));
        log.Attach(factory.CreateLogger(TlsHandshakeLog.Category));

        var kestrel = log.CreateLogger(TlsHandshakeLog.KestrelCategory);
        for (var i = 0; i < 1000; i++)
        {
            kestrel.Log(LogLevel.Debug, new EventId(1, "AuthenticationFailed"), "Failed to authenticate HTTPS connection.",
                new System.Security.Authentication.AuthenticationException("Authentication failed, see inner exception.",
                    new InvalidOperationException("no shared cipher")), (s, _) => s);
        }
        var first = Assert.Single(sink.Entries);
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Equal("Authentication failed, see inner exception.: no shared cipher", first.Values["Reason"]);
        Assert.Equal(0L, first.Values["LeftOut"]);

        time.Ticks += (TlsHandshakeLog.ReportInterval - TimeSpan.FromSeconds(1)).Ticks;
        kestrel.Log(LogLevel.Debug, new EventId(2, "AuthenticationTimedOut"), "timed out", null, (s, _) => s);
        Assert.Single(sink.Entries);

        time.Ticks += TimeSpan.FromSeconds(1).Ticks;
        kestrel.Log(LogLevel.Debug, new EventId(2, "AuthenticationTimedOut"), "timed out", null, (s, _) => s);
        Assert.Equal(2, sink.Entries.Count);
        Assert.Equal(1000L, sink.Entries[1].Values["LeftOut"]); // 999 failures + 1 timeout left out
        Assert.Contains("did not finish the handshake", (string)sink.Entries[1].Values["Reason"]!, StringComparison.Ordinal);

        // Kestrel's other HTTPS events (connection established, ...) are not failures; other categories are not listened to.
        time.Ticks += TlsHandshakeLog.ReportInterval.Ticks;
        kestrel.Log(LogLevel.Debug, new EventId(3, "HttpsConnectionEstablished"), "ok", null, (s, _) => s);
        Assert.False(log.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Critical));
        Assert.Equal(2, sink.Entries.Count);
    }
}
