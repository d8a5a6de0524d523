using System.CommandLine;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Ops.Health;

/// <summary><c>quiver health</c>: the command line over <see cref="HealthRunner"/>. See docs/operations-health.md.</summary>
internal static class HealthCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var command = new Command("health", "Health report of a server (--uri: traffic, latency percentiles, errors, memory, index state, live recall) "
            + "or a folder (--data: index state, memory estimate, probe searches), judged against thresholds; exit 2 when a check fails.");
        var target = new TargetOptions();
        target.AddTo(command);
        var window = new Option<double>("--window")
        {
            Description = "Server: seconds between the two /metrics scrapes the traffic figures are computed over.",
            DefaultValueFactory = _ => 10,
        };
        var probe = new Option<int?>("--probe")
        {
            Description = "Probe searches per collection (latency, recall@k against exact search). Default 0 against a server, 10 against a folder.",
        };
        var k = new Option<int>("--k") { Description = "Top-k of the probe searches.", DefaultValueFactory = _ => 10 };
        var threshold = new Option<string[]>("--threshold")
        {
            Description = "Override a threshold: CHECK.warn=VALUE or CHECK.fail=VALUE ('none' removes it), e.g. search.p99_ms.warn=80. Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var thresholds = new Option<string?>("--thresholds") { Description = "JSON file of thresholds: {\"search.p99_ms\": {\"warn\": 80, \"fail\": 250}, ...}." };
        var json = OpsCommand.JsonOption();
        command.Options.Add(window);
        command.Options.Add(probe);
        command.Options.Add(k);
        command.Options.Add(threshold);
        command.Options.Add(thresholds);
        command.Options.Add(json);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var seconds = parse.GetValue(window);
            if (!(seconds > 0) || double.IsInfinity(seconds))
            {
                throw new ToolboxException($"--window must be a positive number of seconds, got {CliIo.Num(seconds)}");
            }
            var options = new HealthOptions(
                target.Read(parse),
                TimeSpan.FromSeconds(seconds),
                parse.GetValue(probe),
                parse.GetValue(k),
                HealthThresholds.Load(parse.GetValue(thresholds), parse.GetValue(threshold) ?? []));
            var result = await HealthOutput.RunAsync(options, io, ct).ConfigureAwait(false);
            return CliIo.ExitCodeOf(result);
        });
        return command;
    }
}
