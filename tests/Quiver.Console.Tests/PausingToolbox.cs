using System.Text.Json.Nodes;
using Quiver.Server.Console;

namespace Quiver.Console.Tests;

/// <summary>The toolbox <c>quiver serve</c> plugs in (advise and tune), with a pause a test can arm: the next run that
/// enters the named stage reports it as usual and then holds until the test lets it go, so that what the page shows
/// while a tool really runs can be checked without racing it.</summary>
internal sealed class PausingToolbox(IConsoleToolbox inner) : IConsoleToolbox
{
    private ToolPause? _armed;

    /// <summary>Arms a pause at the stage <paramref name="stage"/> of the next run; dispose it (or
    /// <see cref="ToolPause.Release"/>) to let the run go on.</summary>
    public ToolPause PauseAt(string stage)
    {
        var pause = new ToolPause(stage);
        Volatile.Write(ref _armed, pause);
        return pause;
    }

    public Task<JsonNode> AdviseAsync(ConsoleToolCall call, CancellationToken cancellationToken) => inner.AdviseAsync(Arm(call), cancellationToken);

    public Task<JsonNode> TuneAsync(ConsoleToolCall call, CancellationToken cancellationToken) => inner.TuneAsync(Arm(call), cancellationToken);

    private ConsoleToolCall Arm(ConsoleToolCall call) =>
        call.Progress is { } progress && Interlocked.Exchange(ref _armed, null) is { } pause
            ? call with { Progress = new PausingProgress(progress, pause) }
            : call;

    private sealed class PausingProgress(IConsoleToolProgress inner, ToolPause pause) : IConsoleToolProgress
    {
        public void Stage(string description, string unit, Func<(long Done, long? Total)> counter)
        {
            inner.Stage(description, unit, counter);
            if (description == pause.Stage)
            {
                pause.Hold();
            }
        }

        public void Note(string text) => inner.Note(text);
    }
}

/// <summary>One armed pause of <see cref="PausingToolbox"/>.</summary>
internal sealed class ToolPause(string stage) : IDisposable
{
    // Long enough for any check of the page, short enough that a failed test does not hold the tools for long.
    private static readonly TimeSpan MostHeld = TimeSpan.FromMinutes(2);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reached;

    public string Stage { get; } = stage;

    /// <summary>True once a run reached the stage (and is held there until released).</summary>
    public bool Reached => Volatile.Read(ref _reached) == 1;

    public void Release() => _released.TrySetResult();

    public void Dispose() => Release();

    /// <summary>Called by the run, on its own thread, at the stage: holds it until released.</summary>
    internal void Hold()
    {
        Volatile.Write(ref _reached, 1);
        _released.Task.Wait(MostHeld);
    }
}
