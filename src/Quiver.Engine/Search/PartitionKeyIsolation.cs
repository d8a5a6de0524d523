using Quiver.Catalog;
using Quiver.Filtering;

namespace Quiver.Search;

/// <summary>Milvus's partition-key isolation (collection property <c>partitionkey.isolation</c>): a collection that sets it
/// promises that every search names exactly one partition-key value, so Milvus can keep one index per key value and search
/// only that key's. Quiver's indexes are per segment, and a search pinned to one key already reads one partition
/// (<see cref="Shards.PartitionKeys"/>), so what Quiver acts on is the contract: enabling it without a partition key is
/// refused, and a search (and each hybrid sub-request) whose filter does not pin the key with a top-level <c>==</c> is
/// refused with Milvus's messages. Queries are not checked (Milvus does not check them either).</summary>
internal static class PartitionKeyIsolation
{
    /// <summary>The collection property, as Milvus names it.</summary>
    public const string Property = "partitionkey.isolation";

    /// <summary>Milvus's text for its error 702, which the server maps back to that code.</summary>
    public const string IndexDuplicate = "index duplicates";

    /// <summary>Whether <paramref name="properties"/> turn isolation on (a value Go's ParseBool reads as true; a value it
    /// cannot read was refused when set).</summary>
    public static bool Enabled(IReadOnlyDictionary<string, string> properties) =>
        properties.TryGetValue(Property, out var text) && Parse(text) == true;

    /// <summary>Checks the properties a collection is created or altered with: the value must be a boolean, and true needs a
    /// partition-key field (<paramref name="schema"/>; null when the schema is not known yet).</summary>
    public static void Validate(IEnumerable<KeyValuePair<string, string>> properties, CollectionSchema? schema)
    {
        foreach (var (key, value) in properties)
        {
            if (key != Property)
            {
                continue;
            }

            if (Parse(value) is not { } on)
            {
                Throw.Invalid($"failed to parse partition key isolation: {Property} '{value}' is not a boolean");
                return;
            }

            if (on && schema is not null && Shards.PartitionKeys.KeyField(schema) is null)
            {
                Throw.Invalid("partition key isolation mode is enabled but no partition key field is set. Please set the partition key first");
            }
        }
    }

    /// <summary>Refuses to turn isolation on or off (set to another value, or removed while on) once a vector field of
    /// the collection has an index, as Milvus's proxy does (isolation changes how Milvus lays out its vector indexes, so
    /// they must be dropped first). Setting the value it already has is allowed. The message is Milvus's, its error
    /// wrapped around <c>index duplicates[indexName=FIELD]</c> (code 702 on the wire).</summary>
    public static void CheckChange(CollectionMeta meta, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> remove)
    {
        var before = Enabled(meta.Properties);
        var after = set.TryGetValue(Property, out var text) ? Parse(text) == true : !remove.Contains(Property) && before;
        if (before == after)
        {
            return;
        }

        var indexed = meta.Indexes.LastOrDefault(i => meta.Schema.IndexOf(i.FieldName) is var f && f >= 0 && meta.Schema.Fields[f].IsVector);
        if (indexed is not null)
        {
            throw new QuiverException(
                QuiverErrorCode.AlreadyExists,
                $"can not alter partition key isolation mode if the collection already has a vector index. Please drop the index first: {IndexDuplicate}[indexName={indexed.FieldName}]");
        }
    }

    /// <summary>Refuses a search of an isolated collection whose filter does not pin the partition key to one value with a
    /// top-level <c>==</c> (under ANDs only), with Milvus's messages.</summary>
    public static void CheckSearch(CollectionMeta meta, BoundFilter? filter)
    {
        if (!Enabled(meta.Properties) || Shards.PartitionKeys.KeyField(meta.Schema) is not { } key)
        {
            return;
        }

        if (filter?.Expression.Root is not { } root || !Pins(root, key.Name))
        {
            Throw.Invalid("partition key not found in expr or the expr is invalid when validating partition key isolation");
        }
    }

    /// <summary>Whether the node pins the key with an equality; throws for a use of the key isolation cannot serve (Milvus's
    /// walk over its plan: OR, NOT, IN, other comparisons and ranges on the key are refused).</summary>
    private static bool Pins(SyntaxNode node, string key)
    {
        switch (node)
        {
            case ParenSyntax p:
                return Pins(p.Inner, key);
            case LogicSyntax logic:
            {
                var found = false;
                foreach (var operand in logic.Operands)
                {
                    found |= Pins(operand, key);
                }

                if (found && logic.Op == FilterOp.Or)
                {
                    Throw.Invalid("partition key isolation does not support OR");
                }

                return found;
            }

            case UnarySyntax { Op: FilterOp.Not } not:
                if (Pins(not.Operand, key))
                {
                    Throw.Invalid("partition key isolation does not support NOT");
                }

                return false;
            case InSyntax @in when IsKey(@in.Value, key):
                Throw.Invalid("partition key isolation does not support IN");
                return false;
            case RangeSyntax range when IsKey(range.Middle, key):
                Throw.Invalid("partition key isolation does not support BinaryRange");
                return false;
            case BinarySyntax { Op: FilterOp.Eq or FilterOp.Ne or FilterOp.Lt or FilterOp.Le or FilterOp.Gt or FilterOp.Ge } compare
                when IsKey(compare.Left, key) != IsKey(compare.Right, key):
                if (compare.Op != FilterOp.Eq)
                {
                    Throw.Invalid($"partition key isolation does not support {MilvusOpName(compare.Op)}");
                }

                return true;
            default:
                return false;
        }
    }

    private static bool IsKey(SyntaxNode node, string key) => node is IdentifierSyntax id && id.Name == key || node is ParenSyntax p && IsKey(p.Inner, key);

    /// <summary>Milvus's name of a comparison (its plan's OpType).</summary>
    private static string MilvusOpName(FilterOp op) => op switch
    {
        FilterOp.Ne => "NotEqual",
        FilterOp.Lt => "LessThan",
        FilterOp.Le => "LessEqual",
        FilterOp.Gt => "GreaterThan",
        FilterOp.Ge => "GreaterEqual",
        _ => op.ToString(),
    };

    /// <summary>Go's strconv.ParseBool, which Milvus reads the property with.</summary>
    private static bool? Parse(string text) => text switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => null,
    };

}
