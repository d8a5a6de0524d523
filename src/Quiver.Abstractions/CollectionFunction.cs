using System.Collections.Immutable;

namespace Quiver;

/// <summary>What a collection function computes, with Milvus's numbers (<c>schema.FunctionType</c>).</summary>
public enum CollectionFunctionType
{
    /// <summary>Not a function type; refused.</summary>
    Unknown = 0,

    /// <summary>BM25: a VarChar field's text to a sparse vector field.</summary>
    BM25 = 1,

    /// <summary>TextEmbedding: a VarChar field's text to a FloatVector field, computed by an embedding provider
    /// (<see cref="ITextEmbedderProvider"/>) on insert and for text given to a search.</summary>
    TextEmbedding = 2,

    /// <summary>Rerank: a search-time function; not part of a collection schema in Quiver.</summary>
    Rerank = 3,
}

/// <summary>A function of a collection schema (Milvus's <c>schema.FunctionSchema</c>): output fields computed from input
/// fields, on insert and at search time. Immutable once the collection exists.</summary>
public sealed record CollectionFunction
{
    /// <summary>The function's name, unique in its schema (the rules of a field name).</summary>
    public required string Name { get; init; }

    /// <summary>What the function computes.</summary>
    public required CollectionFunctionType Type { get; init; }

    /// <summary>The fields it reads; a TextEmbedding function reads exactly one VarChar field.</summary>
    public ImmutableArray<string> InputFieldNames { get; init; } = [];

    /// <summary>The fields it writes; a TextEmbedding function writes exactly one FloatVector field, which inserts leave
    /// out.</summary>
    public ImmutableArray<string> OutputFieldNames { get; init; } = [];

    /// <summary>Parameters by Milvus name, values as text (for TextEmbedding: <c>provider</c>, <c>model_name</c>,
    /// <c>dim</c>, and the provider's own).</summary>
    public IReadOnlyDictionary<string, string> Params { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Free text.</summary>
    public string Description { get; init; } = "";

    /// <summary>A TextEmbedding function writing the vector field <paramref name="output"/> from the text field
    /// <paramref name="input"/>.</summary>
    public static CollectionFunction TextEmbedding(string name, string input, string output, IReadOnlyDictionary<string, string> parameters) =>
        new() { Name = name, Type = CollectionFunctionType.TextEmbedding, InputFieldNames = [input], OutputFieldNames = [output], Params = parameters };

    /// <summary>A BM25 function writing the term frequencies of the analyzed text field <paramref name="input"/> into the
    /// sparse vector field <paramref name="output"/>, which is then searched by text with metric BM25.</summary>
    public static CollectionFunction BM25(string name, string input, string output) =>
        new() { Name = name, Type = CollectionFunctionType.BM25, InputFieldNames = [input], OutputFieldNames = [output] };

    /// <summary>The value of parameter <paramref name="key"/>, or null.</summary>
    public string? Param(string key) => Params.TryGetValue(key, out var v) ? v : null;

    // ToString lists the field names and parameters, not their types' names.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Member(nameof(Name), Name, first: true).Member(nameof(Type), Type)
            .Member(nameof(InputFieldNames), InputFieldNames.IsDefault ? null : InputFieldNames)
            .Member(nameof(OutputFieldNames), OutputFieldNames.IsDefault ? null : OutputFieldNames).Member(nameof(Params), Params).Member(nameof(Description), Description);
        return true;
    }
}
