using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Quiver.Server.Tests;

/// <summary>One captured log event: its category, level, event name, formatted message and named values.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, string? EventName, string Message, IReadOnlyDictionary<string, object?> Values);

/// <summary>A logger provider that keeps every event it is given (add it through <c>QuiverServer.StartAsync</c>'s
/// logging callback).</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value)
                : [];
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId.Name, formatter(state, exception), values));
        }
    }
}
