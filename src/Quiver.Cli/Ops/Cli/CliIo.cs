using System.Globalization;
using System.Text.Json;
using Quiver.Toolbox;
using Spectre.Console;

namespace Quiver.Cli.Ops.Cli;

/// <summary>
/// Where an operator command writes: the result to <see cref="Out"/> (a table for people, or one JSON document with
/// <c>--json</c>), progress and notes to <see cref="Err"/>, so that <c>quiver eval --json | jq</c> sees JSON only.
/// Tests construct it over <see cref="StringWriter"/>s; the real command line uses the process's streams.
/// </summary>
internal sealed class CliIo : ToolReporter
{
    /// <summary>Options of every JSON document the commands write: camelCase names, enums as strings, indented,
    /// non-ASCII kept as is.</summary>
    public static readonly JsonSerializerOptions JsonOptions = ToolboxJson.Options;

    /// <summary>An I/O over two writers. <paramref name="interactive"/> turns on live progress bars on
    /// <paramref name="err"/> (only for a terminal); otherwise progress is a line every few seconds.</summary>
    public CliIo(TextWriter @out, TextWriter err, bool json = false, bool interactive = false)
    {
        Out = @out;
        Err = err;
        Json = json;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(@out),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        ErrConsole = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(err),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!interactive)
        {
            // Wide enough that tables written to files and pipes are not wrapped.
            Console.Profile.Width = 200;
            ErrConsole.Profile.Width = 200;
        }
    }

    /// <summary>The process's own streams; live progress when stderr is a terminal.</summary>
    public static CliIo ForProcess(bool json) =>
        new(System.Console.Out, System.Console.Error, json, interactive: !System.Console.IsErrorRedirected);

    /// <summary>Where results go.</summary>
    public TextWriter Out { get; }

    /// <summary>Where progress, warnings and notes go.</summary>
    public TextWriter Err { get; }

    /// <summary>True with <c>--json</c>: the result is one JSON document on <see cref="Out"/>, nothing else there.</summary>
    public bool Json { get; }

    /// <summary>True when progress may redraw in place (stderr is a terminal).</summary>
    public bool Interactive { get; }

    /// <summary>Spectre console over <see cref="Out"/>, for tables.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Spectre console over <see cref="Err"/>, for progress bars.</summary>
    public IAnsiConsole ErrConsole { get; }

    /// <summary>Writes <paramref name="value"/> as the command's JSON result.</summary>
    public void WriteJson<T>(T value)
    {
        Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        Out.Flush();
    }

    /// <summary>Writes <paramref name="value"/> as the command's JSON result with the command's exit code added as
    /// <c>exitCode</c> (the library's results do not carry one; the JSON of health, tune and advise always did).</summary>
    public void WriteJson<T>(T value, int exitCode)
    {
        var node = JsonSerializer.SerializeToNode(value, JsonOptions)!.AsObject();
        node["exitCode"] = exitCode;
        Out.WriteLine(node.ToJsonString(JsonOptions));
        Out.Flush();
    }

    /// <summary><c>health</c>'s exit code: 0 healthy, 2 when a check failed.</summary>
    public static int ExitCodeOf(Quiver.Toolbox.Health.HealthResult result) => result.Healthy ? ExitCodes.Ok : ExitCodes.CheckFailed;

    /// <summary><c>tune</c>'s exit code: 0 when the target is met (or nothing to tune), 2 otherwise.</summary>
    public static int ExitCodeOf(Quiver.Toolbox.Tune.TuneResult result) => result.Met ? ExitCodes.Ok : ExitCodes.CheckFailed;

    /// <summary><c>advise</c>'s exit code: 0 with a recommendation, 2 without.</summary>
    public static int ExitCodeOf(Quiver.Toolbox.Advise.AdviceResult result) => result.Recommended is null ? ExitCodes.CheckFailed : ExitCodes.Ok;

    /// <summary>Writes a table to <see cref="Out"/>: one header row and the given rows (cells are plain text, not markup).</summary>
    public void WriteTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, string? title = null)
    {
        var table = new Table().Border(TableBorder.Rounded);
        if (title is not null)
        {
            table.Title = new TableTitle(Markup.Escape(title));
        }

        foreach (var h in headers)
        {
            table.AddColumn(new TableColumn(Markup.Escape(h)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)).ToArray());
        }

        Console.Write(table);
    }

    /// <summary>A note for people on <see cref="Err"/> (never on <see cref="Out"/>, which may be JSON).</summary>
    public override void Note(string message)
    {
        base.Note(message);
        Err.WriteLine(message);
    }

    /// <summary>Formats a number for tables: invariant culture, <paramref name="format"/> (default 4 decimals).</summary>
    public static string Num(double value, string format = "0.####") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Runs <paramref name="body"/> with a progress bar named <paramref name="description"/> counting
    /// <paramref name="unit"/> (rows, vectors, queries) towards <paramref name="total"/> (null: unknown). Interactive:
    /// a live Spectre bar with a rate; otherwise a line on <see cref="Err"/> every <paramref name="every"/> (default 5 s)
    /// and one at the end.</summary>
    public override Task<T> WithProgressAsync<T>(string description, long? total, string unit, Func<ProgressHandle, Task<T>> body, TimeSpan? every = null)
    {
        return CliProgress.RunAsync(this, description, total, unit, body, every ?? TimeSpan.FromSeconds(5));
    }
}
