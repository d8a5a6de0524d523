using System.Collections.Immutable;
using System.Text;

namespace Quiver.Samples.HandbookQa;

/// <summary>Stores passages in a collection that embeds their text (a TextEmbedding function, local model), retrieves
/// the closest to a question among the allowed files, and builds the prompt a language model would receive.</summary>
internal static class HandbookAssistant
{
    /// <summary>The question the sample asks when given none.</summary>
    public const string DefaultQuestion = "How many vacation days do I get once I have worked here for five years?";

    /// <summary>Passages given to the model.</summary>
    public const int Passages = 3;

    /// <summary>Stores <paramref name="passages"/> in a new collection in <paramref name="folder"/>, retrieves the
    /// <see cref="Passages"/> closest to <paramref name="question"/> from the files <paramref name="allowed"/>, and
    /// returns them with the prompt.</summary>
    public static async Task<HandbookAnswer> RunAsync(string folder, ITextEmbedderProvider embedders, IReadOnlyList<Passage> passages,
        string question, IReadOnlyList<string> allowed)
    {
        await using var engine = await QuiverEngine.OpenAsync(folder, new QuiverOptions { TextEmbedders = embedders });
        await engine.CreateCollectionAsync("handbook", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.VarChar("source", 100),
                FieldSchema.VarChar("section", 200),
                FieldSchema.VarChar("text", 2_000),
                FieldSchema.Vector("embedding", 384, MetricType.Cosine),
            ],
            Functions =
            [
                CollectionFunction.TextEmbedding("embed_text", "text", "embedding", ImmutableDictionary<string, string>.Empty.Add("provider", "local")),
            ],
        });
        await engine.InsertAsync("handbook", [.. passages.Select(p => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["id"] = p.Id,
            ["source"] = p.Source,
            ["section"] = p.Section,
            ["text"] = p.Text,
        })]);

        var found = await engine.SearchAsync("handbook", new SearchRequest
        {
            Vectors = [],
            QueryTexts = [question],
            AnnsField = "embedding",
            Filter = "source in {allowed}",
            FilterParams = new Dictionary<string, object?> { ["allowed"] = allowed.ToList() },
            Limit = Passages,
            OutputFields = ["source", "section", "text"],
        });
        var context = found.Hits[0].Select(h => $"[{h.Fields["source"]} § {h.Fields["section"]}] {h.Fields["text"]}");
        var prompt = new StringBuilder()
            .AppendLine("Answer the question using only the context below. Cite the bracketed source of each fact you use.")
            .AppendLine("If the context does not contain the answer, say so.")
            .AppendLine()
            .AppendLine("Context:")
            .AppendLine(string.Join("\n\n", context))
            .AppendLine()
            .AppendLine($"Question: {question}")
            .Append("Answer:")
            .ToString();
        return new HandbookAnswer(found.Hits[0], prompt);
    }
}

/// <summary>The passages retrieved, best first, and the prompt built from them.</summary>
internal sealed record HandbookAnswer(IReadOnlyList<SearchHit> Hits, string Prompt);
