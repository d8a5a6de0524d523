using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Quiver.Server.Console;

/// <summary>What a running advise or tune reports while it works: each stage it enters (with a live counter) and its
/// notes. The toolbox calls it from the tool's own thread; <see cref="ConsoleToolProgress"/> keeps it for the page.</summary>
internal interface IConsoleToolProgress
{
    /// <summary>A stage starts: <paramref name="description"/> ("advise: building and measuring candidates"), the
    /// <paramref name="unit"/> it counts (rows, indexes, searches) and <paramref name="counter"/>, read whenever the page
    /// asks: units done, and units in all when known.</summary>
    void Stage(string description, string unit, Func<(long Done, long? Total)> counter);

    /// <summary>A note the tool writes for people ("tune: waiting for the build to finish").</summary>
    void Note(string text);
}

/// <summary>Where one advise or tune run stands: waiting for the one-at-a-time slot, or running a stage with its counter;
/// the latest notes. Thread-safe: the tool writes, <c>GET /console/api/progress</c> reads.</summary>
internal sealed class ConsoleToolProgress : IConsoleToolProgress
{
    /// <summary>Notes kept (the latest).</summary>
    public const int MaxNotes = 20;

    private readonly Lock _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<string> _notes = new();
    private bool _running;
    private string? _stage;
    private string _unit = "";
    private Func<(long Done, long? Total)>? _counter;

    /// <summary>The one-at-a-time slot was taken: the tool starts.</summary>
    public void Started()
    {
        lock (_lock)
        {
            _running = true;
        }
    }

    /// <inheritdoc />
    public void Stage(string description, string unit, Func<(long Done, long? Total)> counter)
    {
        lock (_lock)
        {
            _stage = description;
            _unit = unit;
            _counter = counter;
        }
    }

    /// <inheritdoc />
    public void Note(string text)
    {
        lock (_lock)
        {
            _notes.Enqueue(text);
            while (_notes.Count > MaxNotes)
            {
                _notes.Dequeue();
            }
        }
    }

    /// <summary>The state for the page: <c>state</c> (<c>waiting</c> for another run, or <c>running</c>), the
    /// <c>stage</c> with <c>done</c> / <c>total</c> <c>unit</c> (null before the first stage), <c>elapsedMs</c> since the
    /// request arrived, and <c>notes</c>.</summary>
    public JsonObject ToJson(string run)
    {
        lock (_lock)
        {
            var (done, total) = _counter?.Invoke() ?? (0, null);
            return new JsonObject
            {
                ["run"] = run,
                ["state"] = _running ? "running" : "waiting",
                ["stage"] = _stage,
                ["done"] = _stage is null ? null : done,
                ["total"] = _stage is null ? null : total,
                ["unit"] = _stage is null ? null : _unit,
                ["elapsedMs"] = (long)_clock.Elapsed.TotalMilliseconds,
                ["notes"] = new JsonArray([.. _notes.Select(n => (JsonNode?)n)]),
            };
        }
    }
}

/// <summary>The advise and tune runs in flight, by the run id the page chose, each with the user who started it: only
/// that user reads its progress. One per server; an entry lives as long as its request. Ids are the caller's choice
/// (the page draws 128 random bits): should two runs share one, the later one is shown. Thread-safe.</summary>
internal sealed class ConsoleToolRuns
{
    /// <summary>Longest run id accepted.</summary>
    public const int MaxRunIdLength = 64;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<(string? User, ConsoleToolProgress Progress)>> _runs = new(StringComparer.Ordinal);

    /// <summary>True for an id of 1..<see cref="MaxRunIdLength"/> letters, digits, '-' and '_'.</summary>
    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= MaxRunIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Registers a run of <paramref name="user"/> under <paramref name="id"/>.</summary>
    public void Add(string id, string? user, ConsoleToolProgress progress)
    {
        lock (_lock)
        {
            if (!_runs.TryGetValue(id, out var list))
            {
                _runs[id] = list = [];
            }
            list.Add((user, progress));
        }
    }

    /// <summary>Forgets a run (its request ended).</summary>
    public void Remove(string id, ConsoleToolProgress progress)
    {
        lock (_lock)
        {
            if (_runs.TryGetValue(id, out var list) && list.RemoveAll(r => ReferenceEquals(r.Progress, progress)) > 0 && list.Count == 0)
            {
                _runs.Remove(id);
            }
        }
    }

    /// <summary>The progress of the latest run <paramref name="id"/> that <paramref name="user"/> started; else null.</summary>
    public ConsoleToolProgress? Find(string id, string? user)
    {
        lock (_lock)
        {
            return _runs.TryGetValue(id, out var list)
                ? list.LastOrDefault(r => string.Equals(r.User, user, StringComparison.Ordinal)).Progress
                : null;
        }
    }
}
