using System.Globalization;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>AlterCollectionField: raises a field's <c>max_length</c> (VarChar, Array of VarChar) or <c>max_capacity</c>
/// (Array), the field properties Milvus lets a client change that mean something to Quiver
/// (<see cref="QuiverEngine.AlterCollectionFieldAsync"/>). See docs/server-catalog.md.</summary>
internal sealed partial class MilvusGrpcService
{
    /// <inheritdoc />
    public override async Task<Status> AlterCollectionField(AlterCollectionFieldRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        if (request.DeleteKeys.Count > 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"alter collection field: properties cannot be deleted ({string.Join(", ", request.DeleteKeys)}); max_length and max_capacity can only be raised");
        }

        int? maxLength = null, maxCapacity = null;
        foreach (var property in request.Properties)
        {
            switch (property.Key)
            {
                case "max_length":
                    maxLength = FieldLimit(property);
                    break;
                case "max_capacity":
                    maxCapacity = FieldLimit(property);
                    break;
                case "mmap.enabled":
                    throw new MilvusException(MilvusCode.ParameterInvalid,
                        "alter collection field: mmap.enabled cannot be set per field; Quiver always memory-maps sealed segments");
                default:
                    throw new MilvusException(MilvusCode.ParameterInvalid,
                        $"{property.Key} does not allow update in collection field param (Quiver alters max_length and max_capacity)");
            }
        }

        if (maxLength is null && maxCapacity is null)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "alter collection field: no property given (Quiver alters max_length and max_capacity)");
        }

        await _engine.AlterCollectionFieldAsync(request.CollectionName, request.FieldName, maxLength, maxCapacity, db, context.CancellationToken)
            .ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    private static int FieldLimit(KeyValuePair property) =>
        int.TryParse(property.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new MilvusException(MilvusCode.ParameterInvalid, $"{property.Key} should be an integer, but got '{property.Value}'");
}
