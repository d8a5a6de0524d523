using System.Diagnostics;

namespace Quiver.Toolbox;

/// <summary>Where a tool reports while it runs: notes for people and stages of work with a progress counter. The tools
/// never write their result here (they return it); the command line shows notes and stages on stderr, the web console
/// on its page, a library caller through <see cref="IProgress{T}"/> (<see cref="For"/>).</summary>
internal class ToolReporter
{
    /// <summary>A reporter that drops everything.</summary>
    public static readonly ToolReporter Silent = new();

    /// <summary>Called when a stage of work with a progress counter starts: its description, its unit and the live
    /// counter. Default none.</summary>
    public Action<string, string, ProgressHandle>? OnStage { get; init; }

    /// <summary>Called with every <see cref="Note"/>. Default none.</summary>
    public Action<string>? OnNote { get; init; }

    /// <summary>A reporter that passes notes and stages to <paramref name="progress"/> (null: <see cref="Silent"/>):
    /// a report when a stage starts, at most every <paramref name="every"/> while it runs (default 200 ms), and when it
    /// ends.</summary>
    public static ToolReporter For(IProgress<ToolboxProgress>? progress, TimeSpan? every = null)
    {
        if (progress is null)
        {
            return Silent;
        }

        var interval = Stopwatch.Frequency * (every ?? TimeSpan.FromMilliseconds(200)).TotalSeconds;
        return new ProgressReporter(progress, (long)interval);
    }

    /// <summary>A note for people (a warning, a choice the tool made).</summary>
    public virtual void Note(string message) => OnNote?.Invoke(message);

    /// <summary>Runs <paramref name="body"/> as a stage named <paramref name="description"/> counting
    /// <paramref name="unit"/> (rows, vectors, queries) towards <paramref name="total"/> (null: unknown);
    /// <paramref name="every"/> is how often a host that prints lines prints one.</summary>
    public virtual Task<T> WithProgressAsync<T>(string description, long? total, string unit, Func<ProgressHandle, Task<T>> body, TimeSpan? every = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var handle = new ProgressHandle(total);
        OnStage?.Invoke(description, unit, handle);
        return body(handle);
    }

    private sealed class ProgressReporter(IProgress<ToolboxProgress> progress, long intervalTicks) : ToolReporter
    {
        public override void Note(string message) => progress.Report(new ToolboxProgress(null, null, 0, null, message));

        public override async Task<T> WithProgressAsync<T>(string description, long? total, string unit, Func<ProgressHandle, Task<T>> body, TimeSpan? every = null)
        {
            ArgumentNullException.ThrowIfNull(body);
            var handle = new ProgressHandle(total);
            long last = Stopwatch.GetTimestamp();
            handle.Changed = h =>
            {
                var now = Stopwatch.GetTimestamp();
                var seen = Interlocked.Read(ref last);
                if (now - seen >= intervalTicks && Interlocked.CompareExchange(ref last, now, seen) == seen)
                {
                    progress.Report(new ToolboxProgress(description, unit, h.Value, h.Total, null));
                }
            };
            progress.Report(new ToolboxProgress(description, unit, 0, total, null));
            var result = await body(handle).ConfigureAwait(false);
            handle.Changed = null;
            progress.Report(new ToolboxProgress(description, unit, handle.Value, handle.Total, null) { Done = true });
            return result;
        }
    }
}

/// <summary>What a toolbox call reports while it runs (<see cref="IProgress{T}"/>): either a stage's counter or a note.</summary>
/// <param name="Stage">The stage of work, e.g. "tune: exact answers and sweep"; null for a note.</param>
/// <param name="Unit">What the stage counts: rows, vectors, queries, searches, s; null for a note.</param>
/// <param name="Value">Units done so far.</param>
/// <param name="Total">Units in all, or null when unknown.</param>
/// <param name="Note">A note for people (a warning, a choice the tool made); null for a stage's counter.</param>
public sealed record ToolboxProgress(string? Stage, string? Unit, long Value, long? Total, string? Note)
{
    /// <summary>True on the last report of a stage.</summary>
    public bool Done { get; init; }
}

/// <summary>A progress counter a long command advances from any thread; <see cref="ToolReporter.WithProgressAsync{T}"/>
/// hands to its host (a progress bar, <see cref="IProgress{T}"/>, the web console).</summary>
internal sealed class ProgressHandle
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _value;
    private long _total;

    internal ProgressHandle(long? total) => _total = total ?? -1;

    /// <summary>Called after every change of <see cref="Value"/> or <see cref="Total"/>, on the thread that made it;
    /// set by a host that pushes progress (<see cref="ToolReporter.For"/>). Default none.</summary>
    internal Action<ProgressHandle>? Changed { get; set; }

    /// <summary>Units done so far.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Units in all, or null when unknown.</summary>
    public long? Total => Interlocked.Read(ref _total) is var t && t >= 0 ? t : null;

    /// <summary>Time since the work started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Units per second so far.</summary>
    public double Rate => _clock.Elapsed.TotalSeconds > 0 ? Value / _clock.Elapsed.TotalSeconds : 0;

    /// <summary>Adds <paramref name="units"/> done.</summary>
    public void Advance(long units)
    {
        Interlocked.Add(ref _value, units);
        Changed?.Invoke(this);
    }

    /// <summary>Sets the units done (e.g. after resuming).</summary>
    public void SetValue(long value)
    {
        Interlocked.Exchange(ref _value, value);
        Changed?.Invoke(this);
    }

    /// <summary>Sets or clears (null) the total.</summary>
    public void SetTotal(long? total)
    {
        Interlocked.Exchange(ref _total, total ?? -1);
        Changed?.Invoke(this);
    }
}
