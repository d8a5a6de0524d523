using Quiver.Protocol.Common;

namespace Quiver.Server.Milvus.Data;

/// <summary>The query vectors of a search on a sparse vector field: a <c>common.PlaceholderGroup</c> whose placeholder
/// has type SparseFloatVector (104) and one value per query in Milvus's row bytes ((uint32 index, float32 value) pairs,
/// little-endian, indices ascending).</summary>
internal static class SparseQueries
{
    /// <summary>The checked queries; ParameterInvalid (1100) naming the query and its problem, a placeholder of another
    /// type, or a search by primary keys (which Quiver answers for dense fields only).</summary>
    public static List<SparseVector> Of(Protocol.Milvus.SearchRequest request, FieldSchema field)
    {
        if (request.SearchInputCase == Protocol.Milvus.SearchRequest.SearchInputOneofCase.Ids)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"search by ids is not supported on sparse vector field '{field.Name}'; send the query vectors");
        }

        return Parse(RequestValues.ParseGroup(request.PlaceholderGroup), field);
    }

    /// <summary>The sparse queries of a parsed placeholder group.</summary>
    public static List<SparseVector> Parse(PlaceholderGroup parsed, FieldSchema field)
    {
        var queries = new List<SparseVector>();
        foreach (var placeholder in parsed.Placeholders)
        {
            if (placeholder.Type != PlaceholderType.SparseFloatVector)
            {
                throw RequestValues.NotSparse(field, placeholder.Type);
            }

            foreach (var raw in placeholder.Values)
            {
                queries.Add(RequestValues.SparseQuery(raw.Span, queries.Count));
            }
        }

        return queries;
    }
}
