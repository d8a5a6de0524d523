using System.CommandLine;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Ops.Tune;

/// <summary>The <c>quiver tune</c> command line (docs/operations-tune.md); the work is <see cref="Tuner"/>.</summary>
internal static class TuneCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("tune", "Sweep a vector index's search parameter (ef, nprobe, refine_k, search_k) on your own data and pick the cheapest setting meeting a recall target (or the most accurate within a latency target).");
        var target = new TargetOptions();
        target.AddTo(command);
        var collection = new Option<string>("--collection", "-c") { Description = "The collection to tune.", Required = true };
        var field = new Option<string?>("--field") { Description = "The vector field (default: the collection's only one)." };
        var k = new Option<int>("--k") { Description = "Top-k of the searches and k of recall@k.", DefaultValueFactory = _ => 10 };
        var queries = new Option<int>("--queries") { Description = "Query vectors, split into a tuning and a held-out half.", DefaultValueFactory = _ => 200 };
        var queryFile = new Option<string?>("--query-file") { Description = "Take the queries from a file (.npy, .fvecs, .jsonl) instead of sampling the collection's rows." };
        var seed = new Option<int>("--seed") { Description = "Seed of the query sample.", DefaultValueFactory = _ => 42 };
        var recall = new Option<double?>("--target-recall") { Description = "recall@k to reach; the cheapest setting that does is chosen (default 0.95)." };
        var latency = new Option<double?>("--target-latency-ms") { Description = "p95 latency (ms) to stay within; the most accurate setting that does is chosen." };
        var filter = new Option<string?>("--filter") { Description = "A filter expression applied to every search, e.g. 'category == \"tech\"'." };
        var save = new Option<bool>("--save") { Description = "Store the chosen setting as the field's default search parameters (collection property quiver.search_params.FIELD)." };
        var plot = new Option<string?>("--plot") { Description = "Write the recall-vs-latency curve to this PNG file." };
        var json = OpsCommand.JsonOption();
        foreach (var option in new Option[] { collection, field, k, queries, queryFile, seed, recall, latency, filter, save, plot, json })
        {
            command.Options.Add(option);
        }

        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new TuneOptions
            {
                Target = target.Read(parse),
                Collection = parse.GetValue(collection)!,
                Field = parse.GetValue(field),
                K = parse.GetValue(k),
                Queries = parse.GetValue(queries),
                QueryFile = parse.GetValue(queryFile),
                Seed = parse.GetValue(seed),
                TargetRecall = parse.GetValue(recall),
                TargetLatencyMs = parse.GetValue(latency),
                Filter = parse.GetValue(filter),
                Save = parse.GetValue(save),
            };
            var result = await TuneOutput.RunAsync(options, io, ct, parse.GetValue(plot)).ConfigureAwait(false);
            return CliIo.ExitCodeOf(result);
        });
        return command;
    }
}
