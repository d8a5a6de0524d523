using System.Text.Json.Nodes;
using Quiver.Cli.Ops.Advise;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Tune;
using Quiver.Client;
using Quiver.Indexing;
using Quiver.Server.Console;
using Quiver.Server.Milvus;
using Quiver.Toolbox;
using Quiver.Toolbox.Advise;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Serve;

/// <summary>The toolbox's <c>advise</c> and <c>tune</c> for the web console (<see cref="IConsoleToolbox"/>), plugged in
/// by <c>quiver serve</c>. Each runs exactly as <c>quiver advise --uri ... --json</c> / <c>quiver tune --uri ... --json</c>
/// would, against the server that received the console's request and with its caller's credential (over TLS trusting
/// that server's own certificate and presenting the server's client certificate for its tools, if any), and answers the same JSON document; its progress goes to the call's
/// <see cref="ConsoleToolCall.Progress"/>.</summary>
internal sealed class ConsoleToolbox : IConsoleToolbox
{
    /// <inheritdoc />
    public Task<JsonNode> AdviseAsync(ConsoleToolCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var options = new AdviseOptions
        {
            Target = Target(call),
            Collection = call.Collection,
            Field = call.Field,
            MemoryBudgetBytes = IndexMemoryBudget.Default,
            MemoryBudgetSource = "the engine's default",
            TargetRecall = call.TargetRecall,
            K = call.K,
            Sample = call.Sample,
        };
        return RunAsync("advise", call, io => AdviseOutput.RunAsync(options, io, cancellationToken));
    }

    /// <inheritdoc />
    public Task<JsonNode> TuneAsync(ConsoleToolCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var options = new TuneOptions
        {
            Target = Target(call),
            Collection = call.Collection,
            Field = call.Field,
            TargetRecall = call.TargetRecall,
            K = call.K,
            Queries = call.Sample,
            Save = call.Save,
        };
        return RunAsync("tune", call, io => TuneOutput.RunAsync(options, io, cancellationToken));
    }

    private static TargetSpec Target(ConsoleToolCall call) =>
        TargetSpec.Server(call.ServerUri, call.Credential, call.Database) with
        {
            TrustedServerCertificate = call.ServerCertificate,
            ClientCertificate = call.ClientCertificate,
        };

    /// <summary>Runs a tool with its JSON output captured; its refusals become Milvus statuses: a server's refusal keeps
    /// its code, the tool's own (a field that is not a vector, too few rows) is 1100.</summary>
    private static async Task<JsonNode> RunAsync<T>(string name, ConsoleToolCall call, Func<CliIo, Task<T>> tool)
    {
        using var output = new StringWriter();
        var progress = call.Progress;
        var io = new CliIo(output, TextWriter.Null, json: true)
        {
            // The stages and notes the command line would print on stderr go to the page instead.
            OnStage = progress is null ? null : (stage, unit, handle) => progress.Stage(stage, unit, () => (handle.Value, handle.Total)),
            OnNote = progress is null ? null : progress.Note,
        };
        try
        {
            await tool(io).ConfigureAwait(false);
        }
        catch (ToolboxException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"{name}: {e.Message}");
        }
        catch (QuiverServerException e) when (e.ServerCode > 0)
        {
            throw new MilvusException(e.ServerCode, $"{name}: {e.Message}");
        }
        return JsonNode.Parse(output.ToString()) ?? throw new InvalidOperationException($"{name} wrote no result");
    }
}
