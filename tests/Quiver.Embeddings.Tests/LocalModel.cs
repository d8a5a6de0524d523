namespace Quiver.Embeddings.Tests;

/// <summary>One loaded all-MiniLM-L6-v2 for every test of a class (loading takes about a second and 90 MB).</summary>
public sealed class LocalModel : IDisposable
{
    public MiniLmEmbedder Model { get; } = new();

    /// <summary>Answers every TextEmbedding function with <see cref="Model"/> (no second load of the model).</summary>
    public ITextEmbedderProvider Provider => new SharedModelProvider(Model);

    public void Dispose() => Model.Dispose();

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}

internal sealed class SharedModelProvider(MiniLmEmbedder model) : ITextEmbedderProvider
{
    public ITextEmbedder Resolve(CollectionFunction function, int outputDimension) => model;
}
