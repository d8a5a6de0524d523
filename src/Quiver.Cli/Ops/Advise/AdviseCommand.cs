using System.CommandLine;
using Quiver.Cli.Ops.Cli;
using Quiver.Indexing;
using Quiver.Toolbox;
using Quiver.Toolbox.Advise;

namespace Quiver.Cli.Ops.Advise;

/// <summary>The <c>quiver advise</c> command line (docs/operations-tune.md); the work is <see cref="Advisor"/>.</summary>
internal static class AdviseCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("advise", "Recommend an index type, its parameters and expected memory from measurements on a sample of your data, for a planned size, recall / latency target and memory budget.");
        var target = new TargetOptions();
        target.AddTo(command);
        var collection = new Option<string?>("--collection", "-c") { Description = "Sample this collection's rows." };
        var field = new Option<string?>("--field") { Description = "The vector field (default: the collection's only one)." };
        var vectors = new Option<string?>("--vectors") { Description = "Sample this vector file instead (.npy, .fvecs, .bvecs, .jsonl)." };
        var rows = new Option<long?>("--rows") { Description = "Planned rows (default: the collection's or file's size)." };
        var dim = new Option<int?>("--dim") { Description = "Dimension: checked against the data; with no data, synthetic vectors of this dimension are measured." };
        var metric = new Option<string?>("--metric") { Description = "L2, IP or COSINE (default: the field's; L2 for a file)." };
        var budget = new Option<string?>("--memory-budget")
        {
            Description = "Memory the index may take, e.g. 4GiB, 512MiB (default: the engine's, half the memory available to this process); 'none' for no limit.",
        };
        var recall = new Option<double>("--target-recall") { Description = "recall@k to reach.", DefaultValueFactory = _ => 0.95 };
        var latency = new Option<double?>("--target-latency-ms") { Description = "Expected p99 latency (ms) at the planned size to stay within." };
        var sample = new Option<int>("--sample") { Description = "Rows to build the candidates on.", DefaultValueFactory = _ => 20_000 };
        var k = new Option<int>("--k") { Description = "Top-k and the k of recall@k.", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the sample and the builds.", DefaultValueFactory = _ => 42 };
        var json = OpsCommand.JsonOption();
        foreach (var option in new Option[] { collection, field, vectors, rows, dim, metric, budget, recall, latency, sample, k, seed, json })
        {
            command.Options.Add(option);
        }

        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var metricText = parse.GetValue(metric);
            MetricType? parsedMetric = metricText is null ? null : metricText.Trim().ToUpperInvariant() switch
            {
                "L2" => MetricType.L2,
                "IP" => MetricType.IP,
                "COSINE" => MetricType.Cosine,
                _ => throw new ToolboxException($"--metric '{metricText}': expected L2, IP or COSINE"),
            };
            var budgetText = parse.GetValue(budget);
            var hasCollection = parse.GetValue(collection) is not null;
            var options = new AdviseOptions
            {
                Target = hasCollection ? target.Read(parse) : null,
                Collection = parse.GetValue(collection),
                Field = parse.GetValue(field),
                VectorsPath = parse.GetValue(vectors),
                Rows = parse.GetValue(rows),
                Dimension = parse.GetValue(dim),
                Metric = parsedMetric,
                MemoryBudgetBytes = budgetText is null ? IndexMemoryBudget.Default
                    : string.Equals(budgetText, "none", StringComparison.OrdinalIgnoreCase) ? null : ByteSize.Parse(budgetText, "--memory-budget"),
                MemoryBudgetSource = budgetText is null
                    ? $"the engine's default: half of the {ByteSize.Format(IndexMemoryBudget.AvailableBytes)} available to this process" : "given",
                TargetRecall = parse.GetValue(recall),
                TargetLatencyMs = parse.GetValue(latency),
                Sample = parse.GetValue(sample),
                K = parse.GetValue(k),
                Seed = parse.GetValue(seed),
            };
            var result = await AdviseOutput.RunAsync(options, io, ct).ConfigureAwait(false);
            return CliIo.ExitCodeOf(result);
        });
        return command;
    }
}
