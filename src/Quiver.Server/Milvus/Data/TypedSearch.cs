namespace Quiver.Server.Milvus.Data;

/// <summary>
/// One search of a call whose transport read the request itself (REST): its query count and dimension as the transport
/// counted them, and its settings as typed values, read once, when first asked for inside the call (by the security
/// gate's limit checks or by the handler, whichever comes first), so that a refusal of a setting comes in the same order
/// as for a gRPC search, after authentication and the privilege check. Set on <see cref="CallInfo.Searches"/>; the gate
/// and the handler then read neither Milvus's <c>search_params</c> pairs nor JSON text for it.
/// </summary>
internal sealed class TypedSearch(long nq, int dimension, Func<SearchSettings> read)
{
    private SearchSettings? _settings;

    /// <summary>The number of query vectors (or texts) sent.</summary>
    public long Nq { get; } = nq;

    /// <summary>The dimension of the first query vector as sent (0 when there is none that has one).</summary>
    public int Dimension { get; } = dimension;

    /// <summary>The search's settings, read on first use.</summary>
    public SearchSettings Settings => _settings ??= read();

    /// <summary>Replaces the settings once the call has looked the collection up (REST names the vector field there).</summary>
    public void Complete(Func<SearchSettings, SearchSettings> change) => _settings = change(Settings);
}
