using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Quiver.Server.Hosting;

/// <summary>Console logging of <c>quiver serve</c>, and the one Kestrel warning the server silences.</summary>
public static class ServerLogging
{
    /// <summary>Logs to the console (stdout) in <see cref="ServerOptions.LogFormat"/> at
    /// <see cref="ServerOptions.LogLevel"/> and above. ASP.NET Core's own categories (<c>Microsoft.*</c>) log at Warning or
    /// at that level, whichever is higher, so that Debug shows every call without every connection.</summary>
    public static void AddConsole(ILoggingBuilder logging, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(options);
        if (options.LogFormat == ServerLogFormat.Json)
        {
            logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = false;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                json.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(text =>
            {
                text.SingleLine = true;
                text.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                text.UseUtcTimestamp = true;
                text.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
        logging.SetMinimumLevel(options.LogLevel);
        logging.AddFilter("Microsoft", (LogLevel)Math.Max((int)LogLevel.Warning, (int)options.LogLevel));
    }

    /// <summary>
    /// Wraps every logger provider registered so far so that three events of the host are dropped:
    /// <list type="bullet">
    /// <item>Kestrel's start-up warning <c>Http2DisabledWithHttp1AndNoTls</c> ("HTTP/2 is not enabled for ... TLS is not
    /// enabled"). It is wrong for this server: Kestrel cannot see that <see cref="Http2PriorKnowledge"/> turns HTTP/2 on
    /// per connection, and an operator reading it would think gRPC is off.</item>
    /// <item>Kestrel's "Unable to start Kestrel." and the host's <c>HostedServiceStartupFaulted</c>: both log, with its
    /// stack trace, the exception that <see cref="QuiverServer.StartAsync"/> then throws to its caller, which reports it
    /// (<c>quiver serve</c> in one line with the fix, see <see cref="StartupFailure"/>).</item>
    /// </list>
    /// Level filters cannot single out one event (the categories also carry messages worth seeing), hence the wrapper,
    /// which drops those events and nothing else. Filter rules scoped to a provider type
    /// (<c>AddFilter&lt;ConsoleLoggerProvider&gt;</c>) no longer match a wrapped provider; the server's providers need none,
    /// and the one provider that does (<see cref="Security.TlsHandshakeLog"/>) is added after this call. Call it after every
    /// other provider is added.
    /// </summary>
    internal static void DropMisleadingHostEvents(IServiceCollection services)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(ILoggerProvider) || descriptor.IsKeyedService)
            {
                continue;
            }
            services[i] = ServiceDescriptor.Singleton<ILoggerProvider>(provider =>
                new FilteringLoggerProvider(Create(provider, descriptor)));
        }
    }

    private static ILoggerProvider Create(IServiceProvider provider, ServiceDescriptor descriptor) =>
        (ILoggerProvider)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));

    /// <summary>Kestrel's event id for the warning (<c>KestrelTrace</c>, event 64).</summary>
    internal const int Http2DisabledEventId = 64;

    /// <summary>Kestrel's event name for the warning.</summary>
    internal const string Http2DisabledEventName = "Http2DisabledWithHttp1AndNoTls";

    /// <summary>The host's event logging a failed start (<c>Microsoft.Extensions.Hosting.Internal.Host</c>, event 11).</summary>
    internal const string HostStartupFaultedEventName = "HostedServiceStartupFaulted";

    /// <summary>True for an event <see cref="DropMisleadingHostEvents"/> drops.</summary>
    internal static bool IsDropped(string category, LogLevel level, EventId eventId, Exception? exception)
    {
        if (category.StartsWith(KestrelCategory, StringComparison.Ordinal))
        {
            // Kestrel logs its failed start as an unnamed Critical event 0 carrying the exception.
            return (eventId.Id == Http2DisabledEventId && eventId.Name == Http2DisabledEventName)
                || (level == LogLevel.Critical && eventId.Id == 0 && exception is not null && category == KestrelCategory);
        }
        return category == HostCategory && eventId.Name == HostStartupFaultedEventName;
    }

    private const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel";
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private sealed class FilteringLoggerProvider(ILoggerProvider inner) : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName)
        {
            var logger = inner.CreateLogger(categoryName);
            return categoryName.StartsWith(KestrelCategory, StringComparison.Ordinal) || categoryName == HostCategory
                ? new FilteringLogger(logger, categoryName)
                : logger;
        }

        public void SetScopeProvider(IExternalScopeProvider scopeProvider)
        {
            if (inner is ISupportExternalScope scoped)
            {
                scoped.SetScopeProvider(scopeProvider);
            }
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class FilteringLogger(ILogger inner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsDropped(category, logLevel, eventId, exception))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
