using System.Collections.Immutable;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Proto = Quiver.Protocol.Schema;

namespace Quiver.Client.Remote;

/// <summary>A schema's functions (BM25: analyzed text to a sparse field; TextEmbedding: text to a dense field) as the
/// client sends them in <c>schema.functions</c> and reads them back from a description. The server validates them; the
/// client only carries them.</summary>
internal static class RemoteFunctions
{
    /// <summary>Adds <paramref name="functions"/> to a schema message being sent.</summary>
    public static void AddTo(Proto.CollectionSchema message, ImmutableArray<CollectionFunction> functions)
    {
        foreach (var function in functions)
        {
            var m = new Proto.FunctionSchema { Name = function.Name, Description = function.Description, Type = (Proto.FunctionType)(int)function.Type };
            m.InputFieldNames.Add(function.InputFieldNames);
            m.OutputFieldNames.Add(function.OutputFieldNames);
            foreach (var (key, value) in function.Params)
            {
                m.Params.Add(new KeyValuePair { Key = key, Value = value });
            }

            message.Functions.Add(m);
        }
    }

    /// <summary>The schema an insert's rows are checked and written against: without the fields functions write (the
    /// server computes them, and refuses them as input), so rows leave them out as embedded.</summary>
    public static CollectionSchema ForWrites(CollectionSchema schema)
    {
        if (schema.Functions.IsDefaultOrEmpty)
        {
            return schema;
        }

        var outputs = schema.Functions.SelectMany(f => f.OutputFieldNames).ToHashSet(StringComparer.Ordinal);
        return schema with { Fields = [.. schema.Fields.Where(f => !outputs.Contains(f.Name))], Functions = [] };
    }

    /// <summary>The functions of a described schema; a type the engine does not know stays <see cref="CollectionFunctionType.Unknown"/>
    /// for the caller to see, rather than failing the description.</summary>
    public static ImmutableArray<CollectionFunction> FromMilvus(Proto.CollectionSchema message) =>
    [
        .. message.Functions.Select(f => new CollectionFunction
        {
            Name = f.Name,
            Description = f.Description,
            Type = Enum.IsDefined((CollectionFunctionType)(int)f.Type) ? (CollectionFunctionType)(int)f.Type : CollectionFunctionType.Unknown,
            InputFieldNames = [.. f.InputFieldNames],
            OutputFieldNames = [.. f.OutputFieldNames],
            Params = f.Params.GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal),
        }),
    ];
}
