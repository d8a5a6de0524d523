using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Milvus;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    /// <summary><c>collections/fields/add</c>: <c>schema</c> is one field in the create request's field form
    /// (<c>fieldName</c>, <c>dataType</c>, <c>nullable</c>, <c>defaultValue</c>, <c>elementTypeParams</c>...), read by
    /// the same parser, then added as gRPC's AddCollectionField adds it.</summary>
    private static async Task<JsonNode?> AddCollectionFieldAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var field = r.OptionalObject("schema") ?? throw RestRequest.Missing("schema", "object");
        var wire = RestSchema.FullSchema(new JsonObject { ["fields"] = new JsonArray(field.DeepClone()) }, collection).Fields[0];
        await r.CallAsync("AddCollectionField",
            new AddCollectionFieldRequest { DbName = r.DatabaseOrDefault, CollectionName = collection, Schema = wire.ToByteString() },
            r.Service.AddCollectionField).ConfigureAwait(false);
        return null;
    }
}
