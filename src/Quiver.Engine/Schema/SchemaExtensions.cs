namespace Quiver;

/// <summary>The engine's members of the schema and result types, which live in the abstractions package
/// (QuiverVec.Abstractions) without the engine.</summary>
public static class SchemaExtensions
{
    extension(CollectionSchema schema)
    {
        /// <summary>Checks every rule of a schema and throws a <see cref="QuiverException"/> naming the field and rule,
        /// as the engine does on create.</summary>
        public void Validate()
        {
            SchemaValidator.Validate(schema);
            TextEmbeddingFunctions.Validate(schema);
        }
    }

    /// <summary>How the search ran (segments searched by index or exactly, fallbacks); null for a result the engine did
    /// not compute.</summary>
    internal static Search.SearchStats? Stats(this SearchResult result) => result.EngineStats as Search.SearchStats;
}
