using System.CommandLine;
using System.Text.Json;
using Quiver.Toolbox;

namespace Quiver.Cli.Ops.Cli;

/// <summary>Shared plumbing of the operator commands: the <c>--json</c> option and an action wrapper that turns the
/// failures a user can cause (bad files, refused calls, missing collections) into one error line and exit code 1,
/// never a stack trace.</summary>
internal static class OpsCommand
{
    /// <summary>A new <c>--json</c> option: the result as one JSON document on stdout.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Write the result as JSON on stdout (progress and notes stay on stderr)." };

    /// <summary>Sets <paramref name="command"/>'s action to <paramref name="body"/>, run with the process's I/O
    /// (<paramref name="json"/> picks JSON output) and guarded by <see cref="GuardAsync"/>.</summary>
    public static void SetAction(Command command, Option<bool>? json, Func<ParseResult, CliIo, CancellationToken, Task<int>> body)
    {
        command.SetAction((parse, ct) =>
        {
            var io = CliIo.ForProcess(json is not null && parse.GetValue(json));
            return GuardAsync(command.Name, io, () => body(parse, io, ct));
        });
    }

    /// <summary>Runs <paramref name="body"/>; a user-caused failure prints <c>quiver NAME: error: MESSAGE</c> on stderr
    /// (the options properties a toolbox message names re-worded as flags, <see cref="CliWording"/>) and returns
    /// <see cref="ExitCodes.Failed"/>.</summary>
    public static async Task<int> GuardAsync(string name, CliIo io, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is ToolboxException or QuiverException or IOException or UnauthorizedAccessException
                                      or JsonException or FormatException or InvalidDataException or HttpRequestException)
        {
            await io.Err.WriteLineAsync($"quiver {name}: error: {(e is ToolboxException ? CliWording.Flags(e.Message) : e.Message)}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }
}
