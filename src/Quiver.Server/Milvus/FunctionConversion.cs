using System.Collections.Immutable;
using System.Text;
using Google.Protobuf.Collections;
using Quiver.Protocol.Common;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Proto = Quiver.Protocol.Schema;

namespace Quiver.Server.Milvus;

/// <summary>Milvus's <c>schema.FunctionSchema</c> to the engine's <see cref="CollectionFunction"/> and back, text query
/// placeholders, and the codes of embedding failures. A function's output field carries <c>is_function_output</c> in
/// descriptions, which is how the SDKs know to leave it out of inserts and to send text placeholders to its searches.</summary>
internal static class FunctionConversion
{
    /// <summary>The functions of a schema from the wire; a function type Quiver lacks, repeated parameters, or a field
    /// marked <c>is_function_output</c> that no function writes are refused (ParameterInvalid).</summary>
    public static ImmutableArray<CollectionFunction> FromProto(Proto.CollectionSchema schema, string collection)
    {
        var functions = ImmutableArray.CreateBuilder<CollectionFunction>(schema.Functions.Count);
        foreach (var f in schema.Functions)
        {
            if (f.Type is not (Proto.FunctionType.TextEmbedding or Proto.FunctionType.Bm25))
            {
                throw Invalid($"collection '{collection}': function '{f.Name}' is of type {f.Type}; Quiver supports TextEmbedding and BM25 functions");
            }

            functions.Add(new CollectionFunction
            {
                Name = f.Name,
                Type = f.Type == Proto.FunctionType.Bm25 ? CollectionFunctionType.BM25 : CollectionFunctionType.TextEmbedding,
                Description = f.Description,
                InputFieldNames = [.. f.InputFieldNames],
                OutputFieldNames = [.. f.OutputFieldNames],
                Params = Params(f.Params, $"function '{f.Name}'"),
            });
        }

        foreach (var field in schema.Fields)
        {
            if (field.IsFunctionOutput && !functions.Any(f => f.OutputFieldNames.Contains(field.Name)))
            {
                throw Invalid($"collection '{collection}': field '{field.Name}' is marked is_function_output, but no function writes it");
            }
        }

        return functions.ToImmutable();
    }

    /// <summary>Adds <paramref name="schema"/>'s functions to a described schema (ids as the fields got them) and marks
    /// their output fields.</summary>
    public static void AddTo(Proto.CollectionSchema described, CollectionSchema schema)
    {
        for (var i = 0; i < schema.Functions.Length; i++)
        {
            var f = schema.Functions[i];
            var p = new Proto.FunctionSchema
            {
                Name = f.Name,
                Id = SchemaConversion.FirstFieldId + 10_000 + i,
                Description = f.Description,
                Type = (Proto.FunctionType)(int)f.Type,
            };
            p.InputFieldNames.AddRange(f.InputFieldNames);
            p.OutputFieldNames.AddRange(f.OutputFieldNames);
            p.InputFieldIds.AddRange(f.InputFieldNames.Select(n => SchemaConversion.FirstFieldId + schema.IndexOf(n)));
            p.OutputFieldIds.AddRange(f.OutputFieldNames.Select(n => SchemaConversion.FirstFieldId + schema.IndexOf(n)));
            p.Params.AddRange(f.Params.Select(kv => new KeyValuePair { Key = kv.Key, Value = kv.Value }));
            described.Functions.Add(p);
            foreach (var field in described.Fields)
            {
                field.IsFunctionOutput |= f.OutputFieldNames.Contains(field.Name);
            }
        }
    }

    /// <summary>The texts of a placeholder group of VarChar placeholders (a search by text, as the SDKs send it for a
    /// function's output field), or null when the group holds vectors.</summary>
    public static List<string>? TextPlaceholders(PlaceholderGroup parsed)
    {
        if (parsed.Placeholders.Count == 0 || parsed.Placeholders.Any(p => p.Type != PlaceholderType.VarChar))
        {
            return null;
        }

        return [.. parsed.Placeholders.SelectMany(p => p.Values).Select(v => Encoding.UTF8.GetString(v.Span))];
    }

    /// <summary>The Milvus code of an embedding failure: FunctionFailed (2400) when the provider failed, ParameterInvalid
    /// for the function's configuration and texts too long.</summary>
    public static int CodeOf(EmbeddingException e) =>
        e.Failure == EmbeddingFailure.ProviderFailed ? MilvusCode.FunctionFailed : MilvusCode.ParameterInvalid;

    private static ImmutableDictionary<string, string> Params(RepeatedField<KeyValuePair> pairs, string what)
    {
        var result = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var p in pairs)
        {
            if (!result.TryAdd(p.Key, p.Value))
            {
                throw Invalid($"{what}: param {p.Key} is given twice ('{result[p.Key]}' and '{p.Value}')");
            }
        }

        return result.ToImmutable();
    }

    private static MilvusException Invalid(string reason) => new(MilvusCode.ParameterInvalid, reason);
}
