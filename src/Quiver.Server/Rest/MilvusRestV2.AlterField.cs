using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    /// <summary><c>collections/fields/alter_properties</c> (the Node SDK's HttpClient
    /// <c>alterCollectionFieldProperties</c>): <c>fieldName</c> and <c>fieldParams</c>, an object whose entries become the
    /// request's properties as Milvus's REST handler makes them (each value as text), altered as gRPC's
    /// AlterCollectionField alters them (<c>max_length</c>, <c>max_capacity</c>; anything else refused there).</summary>
    private static async Task<JsonNode?> AlterCollectionFieldPropertiesAsync(RestRequest r)
    {
        var fieldParams = r.OptionalObject("fieldParams") ?? throw RestRequest.Missing("fieldParams", "object");
        await r.CallAsync("AlterCollectionField",
            new AlterCollectionFieldRequest
            {
                DbName = r.DatabaseOrDefault,
                CollectionName = r.RequiredString("collectionName"),
                FieldName = r.RequiredString("fieldName"),
                Properties = { RestSchema.ToPairs(fieldParams) },
            },
            r.Service.AlterCollectionField).ConfigureAwait(false);
        return null;
    }
}
