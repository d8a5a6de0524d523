using System.Text.Json;
using Quiver.Catalog;

namespace Quiver.Toolbox.Formats;

/// <summary>The toolbox's schema file: the engine's <see cref="CollectionSchema"/> as JSON, with the options the engine
/// stores it with (property names as in C#, enums as names), e.g.
/// <c>{"Fields":[{"Name":"id","DataType":"Int64","IsPrimaryKey":true},{"Name":"v","DataType":"FloatVector","Dimension":4,"Metric":"L2"}],"EnableDynamicField":true}</c>.</summary>
internal static class SchemaFile
{
    /// <summary>Reads and validates a schema file.</summary>
    public static CollectionSchema Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"schema file '{path}': no such file");
        }

        CollectionSchema? schema;
        try
        {
            schema = JsonSerializer.Deserialize<CollectionSchema>(File.ReadAllBytes(path), ManifestFile.Json);
        }
        catch (JsonException e)
        {
            throw new ToolboxException($"schema file '{path}': not a collection schema: {e.Message}", e);
        }

        if (schema is null || schema.Fields.IsDefault)
        {
            throw new ToolboxException($"schema file '{path}': not a collection schema (no \"Fields\")");
        }

        try
        {
            schema.Validate();
        }
        catch (QuiverException e)
        {
            throw new ToolboxException($"schema file '{path}': {e.Message}", e);
        }

        return schema;
    }

    /// <summary>Writes <paramref name="schema"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, CollectionSchema schema) =>
        PendingFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(schema, ManifestFile.Json));
}
