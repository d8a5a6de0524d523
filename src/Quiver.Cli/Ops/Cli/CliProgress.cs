using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quiver.Cli.Ops.Cli;

/// <summary>A progress counter a long command advances from any thread; <see cref="CliIo.WithProgressAsync{T}"/>
/// shows it.</summary>
internal sealed class ProgressHandle
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _value;
    private long _total;

    internal ProgressHandle(long? total) => _total = total ?? -1;

    /// <summary>Units done so far.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Units in all, or null when unknown.</summary>
    public long? Total => Interlocked.Read(ref _total) is var t && t >= 0 ? t : null;

    /// <summary>Time since the work started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Units per second so far.</summary>
    public double Rate => _clock.Elapsed.TotalSeconds > 0 ? Value / _clock.Elapsed.TotalSeconds : 0;

    /// <summary>Adds <paramref name="units"/> done.</summary>
    public void Advance(long units) => Interlocked.Add(ref _value, units);

    /// <summary>Sets the units done (e.g. after resuming).</summary>
    public void SetValue(long value) => Interlocked.Exchange(ref _value, value);

    /// <summary>Sets or clears (null) the total.</summary>
    public void SetTotal(long? total) => Interlocked.Exchange(ref _total, total ?? -1);
}

/// <summary>Shows a <see cref="ProgressHandle"/>: a live bar on a terminal, periodic lines otherwise.</summary>
internal static class CliProgress
{
    public static async Task<T> RunAsync<T>(
        CliIo io, string description, long? total, string unit, Func<ProgressHandle, Task<T>> body, TimeSpan every)
    {
        var handle = new ProgressHandle(total);
        io.OnStage?.Invoke(description, unit, handle);
        if (io.Interactive)
        {
            return await io.ErrConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(handle, unit), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total ?? 1));
                    task.IsIndeterminate = total is null;
                    using var done = new CancellationTokenSource();
                    var pump = Task.Run(async () =>
                    {
                        while (!done.IsCancelled())
                        {
                            Sync(task, handle);
                            try
                            {
                                await Task.Delay(100, done.Token).ConfigureAwait(false);
                            }
                            catch (OperationCanceledException)
                            {
                                break;
                            }
                        }
                    });
                    try
                    {
                        return await body(handle).ConfigureAwait(false);
                    }
                    finally
                    {
                        await done.CancelAsync().ConfigureAwait(false);
                        await pump.ConfigureAwait(false);
                        Sync(task, handle);
                        if (handle.Total is null)
                        {
                            task.IsIndeterminate = false;
                            task.MaxValue = Math.Max(1, handle.Value);
                            task.Value = task.MaxValue;
                        }

                        task.StopTask();
                    }
                }).ConfigureAwait(false);
        }

        using var stop = new CancellationTokenSource();
        var lines = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    await Task.Delay(every, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                await io.Err.WriteLineAsync(Line(description, handle, unit)).ConfigureAwait(false);
            }
        });
        try
        {
            return await body(handle).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await lines.ConfigureAwait(false);
            await io.Err.WriteLineAsync(Line(description, handle, unit) + " done").ConfigureAwait(false);
        }
    }

    private static bool IsCancelled(this CancellationTokenSource source) => source.IsCancellationRequested;

    private static void Sync(ProgressTask task, ProgressHandle handle)
    {
        if (handle.Total is { } t)
        {
            task.IsIndeterminate = false;
            task.MaxValue = Math.Max(1, t);
        }

        task.Value = Math.Min(task.MaxValue, handle.Value);
    }

    /// <summary>"import: 12,000/60,000 rows (20%), 8,100 rows/s, 1.5 s".</summary>
    internal static string Line(string description, ProgressHandle handle, string unit)
    {
        var done = handle.Value.ToString("N0", CultureInfo.InvariantCulture);
        var of = handle.Total is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"/{t:N0} {unit} ({(t == 0 ? 100 : 100.0 * handle.Value / t):0}%)")
            : $" {unit}";
        return string.Create(CultureInfo.InvariantCulture, $"{description}: {done}{of}, {handle.Rate:N0} {unit}/s, {handle.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Units per second of the handle (Spectre's own speed column counts bytes).</summary>
    private sealed class RateColumn(ProgressHandle handle, string unit) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{handle.Rate:N0} {unit}/s"));
    }
}
