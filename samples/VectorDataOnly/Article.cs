using Microsoft.Extensions.VectorData;

namespace VectorDataOnly;

/// <summary>A knowledge-base article as the VectorData abstractions see it: a key, data properties (two of them
/// filterable) and an embedding searched exactly (a flat index: the sample is small). Nothing here names a database.</summary>
internal sealed class Article
{
    /// <summary>The embedding's length.</summary>
    public const int Dimensions = 24;

    [VectorStoreKey]
    public long Key { get; set; }

    [VectorStoreData]
    public string Title { get; set; } = "";

    [VectorStoreData(IsIndexed = true)]
    public string Topic { get; set; } = "";

    [VectorStoreData(IsIndexed = true)]
    public int Year { get; set; }

    [VectorStoreVector(Dimensions, DistanceFunction = DistanceFunction.CosineSimilarity, IndexKind = IndexKind.Flat)]
    public ReadOnlyMemory<float> Embedding { get; set; }
}
