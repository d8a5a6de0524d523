using Quiver.Samples.HandbookQa;
using Quiver.Testing;

namespace Quiver.Embeddings.Tests;

/// <summary>samples/HandbookQa (the C# side of docs/rag.md) run end to end: the passages it retrieves equal brute-force
/// cosine over the stored vectors of the files the filter allows (query vector from the collection's own function), and
/// the prompt holds exactly those passages, in that order, then the question.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed class HandbookQaSampleTests(LocalModel local)
{
    [Fact]
    public async Task Sample_RetrievesTheClosestAllowedPassages_AndPutsThemInThePrompt()
    {
        using var folder = new TempFolder();
        var passages = Passage.Read(Path.Combine(AppContext.BaseDirectory, "handbook"));
        Assert.Equal(7, passages.Length);
        string[] allowed = ["leave.md", "travel.md"];
        var answer = await HandbookAssistant.RunAsync(folder.Path, local.Provider, passages, HandbookAssistant.DefaultQuestion, allowed);

        var query = (await local.Model.EmbedAsync([HandbookAssistant.DefaultQuestion], CancellationToken.None))[0];
        var texts = await local.Model.EmbedAsync([.. passages.Select(p => p.Text)], CancellationToken.None);
        var oracle = passages.Select((p, i) => (Passage: p, Score: LocalModel.Cosine(query, texts[i])))
            .Where(h => allowed.Contains(h.Passage.Source)).OrderByDescending(h => h.Score).Take(HandbookAssistant.Passages).ToArray();
        Assert.Equal(oracle.Select(h => h.Passage.Id), answer.Hits.Select(h => (long)h.Id));
        Assert.Equal("Annual leave", oracle[0].Passage.Section);

        var at = 0;
        foreach (var (passage, _) in oracle)
        {
            var next = answer.Prompt.IndexOf($"[{passage.Source} § {passage.Section}] {passage.Text}", at, StringComparison.Ordinal);
            Assert.True(next > at, $"passage {passage.Id} missing from the prompt or out of order");
            at = next;
        }

        Assert.EndsWith($"Question: {HandbookAssistant.DefaultQuestion}\nAnswer:", answer.Prompt.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("security.md", answer.Prompt, StringComparison.Ordinal);
    }
}
