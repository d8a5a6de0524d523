namespace Quiver;

/// <summary>Which fields a schema's functions write: rows leave those out, on the way into the engine and to a server.</summary>
internal static class SchemaFunctions
{
    /// <summary>The schema as inserted rows see it: without the fields TextEmbedding functions compute (and without the
    /// functions); <paramref name="schema"/> itself when it has none. For checking rows before they are sent.</summary>
    public static CollectionSchema InputView(CollectionSchema schema) => schema.Functions.IsDefaultOrEmpty
        ? schema
        : schema with { Fields = [.. schema.Fields.Where(f => FunctionWriting(schema, f.Name) is null)], Functions = [] };

    /// <summary>The function (TextEmbedding or BM25) that writes <paramref name="field"/>, or null.</summary>
    public static CollectionFunction? FunctionWriting(CollectionSchema schema, string field)
    {
        foreach (var f in schema.Functions)
        {
            if (f.OutputFieldNames.Contains(field))
            {
                return f;
            }
        }

        return null;
    }
}
