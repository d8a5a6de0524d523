using System.CommandLine;
using Quiver.Cli.Ops.Cli;
using Quiver.Indexing;
using Quiver.Toolbox.Eval;

namespace Quiver.Cli.Ops.Eval;

/// <summary>The <c>quiver eval</c> command line; the work is <see cref="EvalRunner"/>'s. See docs/operations-eval.md.</summary>
internal static class EvalCommand
{
    /// <summary>A new <c>eval</c> command.</summary>
    public static Command Create()
    {
        var qrels = new Option<string?>("--qrels") { Description = "Relevance judgments: TREC 'qid 0 docid rel' or BEIR TSV with its 'query-id<TAB>corpus-id<TAB>score' header (detected)." };
        var run = new Option<string?>("--run") { Description = "A TREC run file 'qid Q0 docid rank score tag' to evaluate (instead of --queries)." };
        var queries = new Option<string?>("--queries") { Description = "Query vectors to search in --collection: .jsonl lines {\"id\": ..., \"vector\": [...]}, or .npy/.fvecs/.bvecs (ids = row index from 0)." };
        var collection = new Option<string?>("--collection", "-c") { Description = "The collection searched with --queries." };
        var k = new Option<int>("--k") { Description = "Cutoff of every metric and top-k of the searches.", DefaultValueFactory = _ => 10 };
        var filter = new Option<string?>("--filter") { Description = "Filter expression of the searches, e.g. 'lang == \"en\"'." };
        var searchParams = new Option<string?>("--search-params") { Description = "Index search parameters as JSON, e.g. '{\"ef\":64}' or '{\"nprobe\":8}'." };
        var annsField = new Option<string?>("--anns-field") { Description = "The vector field searched (default: the collection's only one)." };
        var idField = new Option<string?>("--id-field") { Description = "Output field holding the document id the qrels use (default: the primary key). Rows sharing a document count once, at their best rank." };
        var annRecall = new Option<bool>("--ann-recall") { Description = "Also search exactly (every segment by brute force) and report recall@k of the results against the exact ones." };
        var perQuery = new Option<bool>("--per-query") { Description = "Also print the per-query table (--json always includes it)." };
        var outRun = new Option<string?>("--out-run") { Description = "Save the searched run here as a TREC run file." };
        var plot = new Option<string?>("--plot") { Description = "Save mean precision/recall/NDCG at cutoffs 1..k as a PNG here." };
        var json = OpsCommand.JsonOption();
        var target = new TargetOptions();

        var command = new Command("eval", "Retrieval quality against qrels (P@k, R@k, MAP, NDCG@k, MRR, hits), per query and mean; and ANN recall against exact search.");
        foreach (var option in new Option[] { qrels, run, queries, collection, k, filter, searchParams, annsField, idField, annRecall, perQuery, outRun, plot, json })
        {
            command.Options.Add(option);
        }

        target.AddTo(command);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new EvalOptions
            {
                QrelsPath = parse.GetValue(qrels),
                RunPath = parse.GetValue(run),
                QueriesPath = parse.GetValue(queries),
                Target = parse.GetValue(queries) is null ? null : target.Read(parse),
                Collection = parse.GetValue(collection),
                K = parse.GetValue(k),
                Filter = parse.GetValue(filter) ?? "",
                SearchParams = IndexParameters.FromJson(parse.GetValue(searchParams), "--search-params").Values,
                AnnsField = parse.GetValue(annsField),
                IdField = parse.GetValue(idField),
                AnnRecall = parse.GetValue(annRecall),
                PerQuery = parse.GetValue(perQuery),
                OutRunPath = parse.GetValue(outRun),
            };
            await EvalOutput.RunAsync(options, io, null, ct, parse.GetValue(plot)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}
