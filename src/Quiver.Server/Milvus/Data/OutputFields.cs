using System.Runtime.CompilerServices;
using System.Text;

namespace Quiver.Server.Milvus.Data;

/// <summary>The output fields of a query or search resolved against a schema the way Milvus does: <c>*</c> means every
/// declared field (vectors included, a BM25 function's output excepted) and every dynamic key; a declared name is that field; <c>$meta</c> is every dynamic
/// key; any other name is a dynamic key when the collection has the dynamic field, else an error. The primary key is
/// always returned, first.</summary>
internal sealed class OutputFields
{
    private OutputFields(List<FieldSchema> declared, List<string> dynamicKeys, bool allDynamic, List<string> names)
    {
        Declared = declared;
        DynamicKeys = dynamicKeys;
        AllDynamic = allDynamic;
        Names = names;
    }

    /// <summary>Declared fields to return, in output order (primary key first).</summary>
    public IReadOnlyList<FieldSchema> Declared { get; }

    /// <summary>Dynamic keys requested by name.</summary>
    public IReadOnlyList<string> DynamicKeys { get; }

    /// <summary>True when every dynamic key is requested (<c>*</c> or <c>$meta</c>).</summary>
    public bool AllDynamic { get; }

    /// <summary>The names to report in the response's <c>output_fields</c>: declared fields and dynamic key names, as
    /// the SDKs look values up by them.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The names to ask the engine for, built on first use and kept (they were built on every read).</summary>
    public IReadOnlyList<string> EngineNames =>
        _engineNames ??= [.. Declared.Select(f => f.Name), .. AllDynamic ? [CollectionSchema.DynamicFieldName] : DynamicKeys];

    private IReadOnlyList<string>? _engineNames;

    /// <summary>The primary key alone, per schema: what a request naming no output field gets, kept so that such a
    /// request (most searches) resolves nothing per call.</summary>
    private static readonly ConditionalWeakTable<CollectionSchema, OutputFields> KeyOnly = new();

    /// <summary>Resolves <paramref name="requested"/> against <paramref name="schema"/>.</summary>
    public static OutputFields Resolve(CollectionSchema schema, IEnumerable<string> requested)
    {
        if (requested is IReadOnlyCollection<string> { Count: 0 })
        {
            return KeyOnly.GetValue(schema, static s => new OutputFields([s.PrimaryKey], [], false, [s.PrimaryKey.Name]));
        }

        var declared = new List<FieldSchema> { schema.PrimaryKey };
        var dynamicKeys = new List<string>();
        // Keys seen so far: a list's Contains made the names a request may repeat or vary cost n² (100,000 distinct names
        // held a search for minutes).
        HashSet<string>? seenKeys = null;
        var names = new List<string> { schema.PrimaryKey.Name };
        var allDynamic = false;
        foreach (var raw in requested)
        {
            var name = raw.Trim();
            if (name.Length == 0)
            {
                continue;
            }

            if (name == "*")
            {
                foreach (var f in schema.Fields)
                {
                    // A BM25 output is never returned (Milvus's CanRetrieveRawFieldData); naming it is refused by the engine.
                    if (!declared.Contains(f) && !schema.Functions.Any(fn => fn.Type == CollectionFunctionType.BM25 && fn.OutputFieldNames.Contains(f.Name)))
                    {
                        declared.Add(f);
                        names.Add(f.Name);
                    }
                }

                if (schema.EnableDynamicField && !allDynamic)
                {
                    allDynamic = true;
                    names.Add(CollectionSchema.DynamicFieldName);
                }

                continue;
            }

            if (schema.Find(name) is { } field)
            {
                if (!declared.Contains(field))
                {
                    declared.Add(field);
                    names.Add(field.Name);
                }

                continue;
            }

            if (!schema.EnableDynamicField)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"field {name} not exist: output field '{name}' is not in the schema and the collection has no dynamic field");
            }

            if (name == CollectionSchema.DynamicFieldName)
            {
                if (!allDynamic)
                {
                    allDynamic = true;
                    names.Add(name);
                }
            }
            else if ((seenKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
            {
                dynamicKeys.Add(name);
                names.Add(name);
            }
        }

        return new OutputFields(declared, dynamicKeys, allDynamic, names);
    }

    /// <summary>Text for messages.</summary>
    public override string ToString() => new StringBuilder().AppendJoin(", ", Names).ToString();
}
