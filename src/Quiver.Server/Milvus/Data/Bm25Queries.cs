namespace Quiver.Server.Milvus.Data;

/// <summary>The query texts of a search on a BM25 function's output field: the SDKs send them as a placeholder group of
/// VarChar placeholders (<c>data: ["text", ...]</c>).</summary>
internal static class Bm25Queries
{
    /// <summary>The texts; ParameterInvalid (1100) for a search by primary keys or a placeholder of another type.</summary>
    public static List<string> Of(Protocol.Milvus.SearchRequest request, FieldSchema field)
    {
        if (request.SearchInputCase == Protocol.Milvus.SearchRequest.SearchInputOneofCase.Ids)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"search by ids is not supported on field '{field.Name}', the output of a BM25 function; send the query texts");
        }

        var group = RequestValues.ParseGroup(request.PlaceholderGroup);
        return FunctionConversion.TextPlaceholders(group) ?? throw RequestValues.NotText(field, group.Placeholders.Select(p => p.Type));
    }
}
