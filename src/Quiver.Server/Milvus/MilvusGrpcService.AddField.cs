using Google.Protobuf;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Proto = Quiver.Protocol.Schema;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>AddCollectionField: a nullable scalar field appended to an existing collection, loaded or not
/// (<see cref="QuiverEngine.AddCollectionFieldAsync"/>). The Node SDK tries AlterCollectionSchema first and falls back to
/// this call when the server answers UNIMPLEMENTED, as Quiver does. See docs/server-catalog.md.</summary>
internal sealed partial class MilvusGrpcService
{
    /// <inheritdoc />
    public override async Task<Status> AddCollectionField(AddCollectionFieldRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        var field = SchemaConversion.AddedFieldFromProto(request.Schema, request.CollectionName, _engine.GetCollection(request.CollectionName, db).TimeZone);
        await _engine.AddCollectionFieldAsync(request.CollectionName, field, db, context.CancellationToken).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    /// <remarks>Milvus 2.6's newer form of AddCollectionField, which the Node SDK tries first: an <c>add_request</c> of
    /// one field is added as AddCollectionField adds it; the rest of the call (several fields, functions, drops) is
    /// refused with 1100, and the status travels in <c>alter_status</c>.</remarks>
    public override async Task<AlterCollectionSchemaResponse> AlterCollectionSchema(AlterCollectionSchemaRequest request, ServerCallContext context)
    {
        try
        {
            var db = Database(request.DbName, context);
            if (request.Action?.AddRequest is not { FieldInfos.Count: 1, FuncSchema.Count: 0 } add)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid,
                    "alter collection schema: Quiver adds one field at a time (add_request with one field_info and no function); dropping fields is not supported");
            }

            var proto = add.FieldInfos[0].FieldSchema
                ?? throw new MilvusException(MilvusCode.ParameterInvalid, "alter collection schema: add_request carries no field_schema");
            var field = SchemaConversion.AddedFieldFromProto(proto.ToByteString(), request.CollectionName, _engine.GetCollection(request.CollectionName, db).TimeZone);
            await _engine.AddCollectionFieldAsync(request.CollectionName, field, db, context.CancellationToken).ConfigureAwait(false);
            return new AlterCollectionSchemaResponse { AlterStatus = MilvusStatus.Ok() };
        }
        catch (Exception e) when (e is MilvusException or QuiverException)
        {
            return new AlterCollectionSchemaResponse { AlterStatus = MilvusStatus.FromException(e) };
        }
    }
}

/// <summary>What Milvus refuses in a field added to an existing collection before the schema rules apply (its
/// messages); the engine refuses the rest (not nullable, primary key, vector, duplicate name, field count).</summary>
internal static class AddedField
{
    /// <summary>Throws for a partition key, clustering key, dynamic field or auto_id on a field that is not the key.</summary>
    public static void Check(Proto.FieldSchema f)
    {
        if (f.IsPartitionKey)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"not support to add partition key field, field name  = {f.Name}");
        }

        if (f.IsClusteringKey)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"not support to add clustering key field, field name = {f.Name}");
        }

        if (f.IsDynamic)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"cannot add the dynamic field '{f.Name}' to an existing collection");
        }

        if (f.AutoID && !f.IsPrimaryKey)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"only primary field can speficy AutoID with true, field name = {f.Name}");
        }
    }
}
