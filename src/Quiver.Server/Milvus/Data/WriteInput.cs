using Quiver.Wire;

namespace Quiver.Server.Milvus.Data;

/// <summary>
/// One insert or upsert as the Milvus rules (<see cref="MilvusGrpcService.WriteColumnsAsync(WriteInput, Grpc.Core.ServerCallContext)"/>)
/// take it, whichever transport read it: gRPC wraps its <c>InsertRequest</c> or <c>UpsertRequest</c> (<see cref="Of(Protocol.Milvus.InsertRequest)"/>),
/// REST reads its JSON body straight into these values, with no Milvus message between. The rows are turned into engine
/// columns by <see cref="Read"/> once the rules have looked the collection up (for its current schema and time zone).
/// </summary>
internal sealed class WriteInput : ICallTarget
{
    /// <inheritdoc />
    public string Database { get; init; } = "";

    /// <inheritdoc />
    public required string Collection { get; init; }

    /// <summary>The partition to write to; empty for the default one (or the partition key's choice).</summary>
    public string Partition { get; init; } = "";

    /// <summary>True for an upsert, false for an insert.</summary>
    public required bool Upsert { get; init; }

    /// <summary>The rows as engine columns for the collection's current schema, TIMESTAMPTZ text without an offset read in
    /// the collection's time zone; a value that does not fit is refused in the transport's words.</summary>
    public required Func<CollectionSchema, TimeZoneInfo?, ColumnBatch> Read { get; init; }

    /// <summary>The insert of <paramref name="request"/> as the rules take it.</summary>
    public static WriteInput Of(Protocol.Milvus.InsertRequest request) =>
        Of(request.DbName, request.CollectionName, request.PartitionName, request.FieldsData, request.NumRows, upsert: false);

    /// <summary>The upsert of <paramref name="request"/> as the rules take it (a partial update is refused before).</summary>
    public static WriteInput Of(Protocol.Milvus.UpsertRequest request) =>
        Of(request.DbName, request.CollectionName, request.PartitionName, request.FieldsData, request.NumRows, upsert: true);

    private static WriteInput Of(string database, string collection, string partition,
        IReadOnlyList<Protocol.Schema.FieldData> columns, uint rows, bool upsert) => new()
    {
        Database = database,
        Collection = collection,
        Partition = partition,
        Upsert = upsert,
        Read = (schema, zone) => FieldDataReader.ReadRequest(schema, columns, rows, upsert ? "upsert" : "insert", zone),
    };
}
