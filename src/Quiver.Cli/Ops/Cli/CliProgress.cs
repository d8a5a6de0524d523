using System.Globalization;
using Quiver.Toolbox;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quiver.Cli.Ops.Cli;

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
