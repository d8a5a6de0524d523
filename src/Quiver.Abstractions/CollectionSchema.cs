using System.Collections.Immutable;

namespace Quiver;

/// <summary>A collection's schema: a primary key, one or more vector fields, scalar fields, and optionally a
/// dynamic field that keeps undeclared keys as JSON. The engine checks it on create (and <c>schema.Validate()</c>, an
/// extension of the engine package, checks it in process).</summary>
public sealed record CollectionSchema
{
    /// <summary>Name of the hidden JSON field that holds undeclared keys when <see cref="EnableDynamicField"/> is on.</summary>
    public const string DynamicFieldName = "$meta";

    /// <summary>The fields, in declaration order.</summary>
    public required ImmutableArray<FieldSchema> Fields { get; init; }

    /// <summary>Keep undeclared keys of inserted rows as JSON in <see cref="DynamicFieldName"/>, filterable as top-level names.</summary>
    public bool EnableDynamicField { get; init; }

    /// <summary>With a partition-key field (<see cref="FieldSchema.IsPartitionKey"/>): how many partitions rows are hashed
    /// to, 1..1024; 0 (the default) means Milvus's 16 at creation. Without one it must be 0.</summary>
    public int NumPartitions { get; init; }

    /// <summary>Free text.</summary>
    public string Description { get; init; } = "";

    /// <summary>Functions computing output fields from input fields (TextEmbedding: text in, vectors out); default none.</summary>
    public ImmutableArray<CollectionFunction> Functions { get; init; } = [];

    /// <summary>The primary key field.</summary>
    public FieldSchema PrimaryKey => Fields.First(f => f.IsPrimaryKey);

    /// <summary>Finds a field by name (case-sensitive).</summary>
    public FieldSchema? Find(string name)
    {
        foreach (var f in Fields)
        {
            if (f.Name == name)
            {
                return f;
            }
        }

        return null;
    }

    /// <summary>Index of a field in <see cref="Fields"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < Fields.Length; i++)
        {
            if (Fields[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    // ToString lists the fields and functions, not ImmutableArray's type name.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Member(nameof(Fields), Fields.IsDefault ? null : Fields, first: true).Member(nameof(EnableDynamicField), EnableDynamicField)
            .Member(nameof(NumPartitions), NumPartitions).Member(nameof(Description), Description).Member(nameof(Functions), Functions.IsDefault ? null : Functions);
        return true;
    }
}
