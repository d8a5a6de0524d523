using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Quiver.Client;

namespace Quiver.VectorData;

/// <summary>Options of a <see cref="QuiverVectorStore"/>.</summary>
public sealed class QuiverVectorStoreOptions
{
    /// <summary>The database; null (default) means the client's.</summary>
    public string? Database { get; init; }

    /// <summary>The embedding generator used for vector properties that do not name their own; null (default) means none.</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; init; }

    /// <summary>The store disposes the client when it is disposed. Default false.</summary>
    public bool OwnsClient { get; init; }
}

/// <summary>
/// Quiver as a Microsoft.Extensions.VectorData <see cref="VectorStore"/>: over the embedded engine
/// (<c>QuiverClient.OpenEmbeddedAsync</c>) or a server (<c>QuiverClient.ConnectAsync</c>), since both are an
/// <see cref="IQuiverClient"/>. Collections are typed (<see cref="GetCollection{TKey, TRecord}"/>) or dynamic
/// (<see cref="GetDynamicCollection"/>). Thread-safe.
/// </summary>
public sealed class QuiverVectorStore : VectorStore
{
    /// <summary>The <c>VectorStoreSystemName</c> of the metadata and exceptions: <c>quiver</c>.</summary>
    public const string SystemName = "quiver";

    private readonly IQuiverClient _client;
    private readonly QuiverVectorStoreOptions _options;
    private readonly VectorStoreMetadata _metadata;

    /// <summary>A store over <paramref name="client"/>.</summary>
    public QuiverVectorStore(IQuiverClient client, QuiverVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new QuiverVectorStoreOptions();
        _metadata = new VectorStoreMetadata { VectorStoreSystemName = SystemName, VectorStoreName = _options.Database };
    }

    /// <inheritdoc/>
    public override QuiverVectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            throw new NotSupportedException("dynamic records: use GetDynamicCollection");
        }

        var model = new QuiverModelBuilder().Build(typeof(TRecord), typeof(TKey), definition, _options.EmbeddingGenerator);
        return new QuiverVectorStoreCollection<TKey, TRecord>(_client, name, _options.Database, model);
    }

    /// <inheritdoc/>
    public override QuiverVectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(definition);
        var model = new QuiverModelBuilder().BuildDynamic(definition, _options.EmbeddingGenerator);
        return new QuiverVectorStoreCollection<object, Dictionary<string, object?>>(_client, name, _options.Database, model);
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var name in await _client.ListCollectionsAsync(_options.Database, cancellationToken).ConfigureAwait(false))
        {
            yield return name;
        }
    }

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default) =>
        _client.HasCollectionAsync(name, _options.Database, cancellationToken);

    /// <inheritdoc/>
    public override async Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        if (await _client.HasCollectionAsync(name, _options.Database, cancellationToken).ConfigureAwait(false))
        {
            await _client.DropCollectionAsync(name, _options.Database, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreMetadata) ? _metadata
            : serviceType == typeof(IQuiverClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _options.OwnsClient)
        {
            _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }
}
