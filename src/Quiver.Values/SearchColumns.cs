namespace Quiver;

/// <summary>Search results as columns: per query its number of hits, then every hit's score and output fields in one
/// column batch (the queries' hits concatenated, best first within each query). The primary key is the batch's first
/// column.</summary>
public sealed record SearchColumns
{
    /// <summary>Per query vector, its number of hits; they follow each other in <see cref="Scores"/> and <see cref="Fields"/>.</summary>
    public required int[] Counts { get; init; }

    /// <summary>Per hit, its score (as <see cref="SearchHit.Score"/>).</summary>
    public required float[] Scores { get; init; }

    /// <summary>Per hit, the primary key then the requested output fields.</summary>
    public required ColumnBatch Fields { get; init; }

    /// <summary>The hits' primary keys.</summary>
    public FieldColumn Ids => Fields.Columns[0];
}
