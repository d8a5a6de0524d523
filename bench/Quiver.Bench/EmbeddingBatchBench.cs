using System.Diagnostics;
using System.Globalization;
using System.Text;
using Quiver.Embeddings;

namespace Quiver.Bench;

/// <summary>
/// <c>embedbatch</c>: where batching stops paying for the local all-MiniLM-L6-v2 model. Texts of exactly L tokens
/// ([CLS], L − 2 copies of one word piece, [SEP]) are embedded in calls of B texts for every L of <c>--tokens</c> and B of
/// <c>--batches</c>, in rounds that rotate the order of the batch sizes (so that load drift on a shared machine does not
/// favour one of them); each cell is the median over rounds of the milliseconds per text, and its ratio to batch 1 at the
/// same L in the same rounds. With <c>--threads</c> ONNX Runtime's intra-op threads are set (0: one per core). The
/// table also gives the size of the two largest activations one layer writes (attention scores B × 12 heads × L × L
/// float32, the feed-forward's B × L × 1536 float32): when batch B's per-text time rises above batch 1's only where
/// those exceed the processor's caches, the slowdown is memory traffic, not padding (every text has the same length).
/// </summary>
internal static class EmbeddingBatchBench
{
    private const int Heads = 12;
    private const int FeedForward = 1536;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("tokens", "batches", "texts", "rounds", "threads", "md");
        var lengths = Ints(args.Text("tokens", "16,64,128,256"));
        var batches = Ints(args.Text("batches", "1,4,8,16,32"));
        var texts = args.Int("texts", 64);
        var rounds = args.Int("rounds", 3);
        var threads = args.Int("threads", 0);
        using var model = new MiniLmEmbedder(threads);
        await model.EmbedAsync(["warm up"], CancellationToken.None);

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"all-MiniLM-L6-v2 (ONNX Runtime, intra-op threads {(threads == 0 ? "one per core" : threads.ToString(CultureInfo.InvariantCulture))}, {Environment.ProcessorCount} cores), {texts} texts of exactly L tokens per cell, median of {rounds} rounds (batch order rotated per round); ms per text, and in brackets the ratio of batch B's texts/s to batch 1's");
        md.AppendLine();
        md.AppendLine("| L tokens | " + string.Join(" | ", batches.Select(b => $"batch {b}")) + " | attention scores at the largest batch | feed-forward at the largest batch |");
        md.AppendLine("| ---: | " + string.Join(" | ", batches.Select(_ => "---:")) + " | ---: | ---: |");
        foreach (var length in lengths)
        {
            var text = string.Join(' ', Enumerable.Repeat("the", length - 2));
            if (model.Tokenize(text).Length != length)
            {
                throw new InvalidOperationException($"a text of {length - 2} words did not make {length} tokens");
            }

            var perText = batches.ToDictionary(b => b, _ => new List<double>());
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < batches.Length; i++)
                {
                    var b = batches[(i + round) % batches.Length];
                    var calls = Math.Max(1, texts / b);
                    var input = Enumerable.Repeat(text, b).ToArray();
                    var watch = Stopwatch.StartNew();
                    for (var c = 0; c < calls; c++)
                    {
                        await model.EmbedAsync(input, CancellationToken.None);
                    }

                    perText[b].Add(watch.Elapsed.TotalMilliseconds / (calls * b));
                }
            }

            var one = Median(perText[batches[0]]);
            var largest = batches.Max();
            var scores = (long)largest * Heads * length * length * sizeof(float);
            var ffn = (long)largest * length * FeedForward * sizeof(float);
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {length} | {string.Join(" | ", batches.Select(b => $"{Median(perText[b]):F2} ({one / Median(perText[b]):F2}x)"))} | {scores / 1e6:F1} MB | {ffn / 1e6:F1} MB |");
        }

        Console.WriteLine(md.ToString());
        if (args.Text("md") is { } path)
        {
            await File.WriteAllTextAsync(path, md.ToString());
        }

        return 0;
    }

    private static int[] Ints(string list) => [.. list.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
