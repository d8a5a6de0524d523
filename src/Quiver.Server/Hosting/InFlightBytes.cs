using System.Globalization;
using Quiver.Server.Milvus;

namespace Quiver.Server.Hosting;

/// <summary>
/// The server-wide count of request bytes held at once (REST bodies and gRPC messages), capped by
/// <see cref="MemoryOptions.MaxInFlightBytes"/>. A request takes its bytes before it reads them and gives them back when
/// it ends; one that does not fit is refused at once (Milvus code 4, retriable) rather than queued. Thread-safe.
/// </summary>
internal sealed class InFlightBytes(long capacity)
{
    private long _used;

    /// <summary>The cap, in bytes.</summary>
    public long Capacity => capacity;

    /// <summary>Bytes held now.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> if they fit under the cap; false (nothing taken) otherwise.</summary>
    public bool TryTake(long bytes)
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (used + bytes > capacity)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    /// <summary>Gives back bytes taken with <see cref="TryTake"/>.</summary>
    public void Give(long bytes) => Interlocked.Add(ref _used, -bytes);

    /// <summary>The refusal of a request of <paramref name="bytes"/> that does not fit.</summary>
    public MilvusException Refusal(long bytes) => new(MilvusCode.RequestLimitExceeded,
        string.Create(CultureInfo.InvariantCulture,
            $"server busy: a request of {bytes} bytes does not fit in the {capacity} bytes of requests the server holds at once ({Used} in flight); retry later, or raise Memory:MaxInFlightBytes"),
        retriable: true);
}

/// <summary>The bytes one request holds in <see cref="InFlightBytes"/>; disposing gives them back. Not thread-safe: one
/// request's reads happen one after another.</summary>
internal sealed class InFlightLease(InFlightBytes budget) : IDisposable
{
    /// <summary>Bytes held.</summary>
    public long Held { get; private set; }

    /// <summary>Takes <paramref name="bytes"/> more, or throws the budget's retriable refusal (code 4).</summary>
    public void Reserve(long bytes)
    {
        if (bytes <= 0)
        {
            return;
        }
        if (!budget.TryTake(bytes))
        {
            throw budget.Refusal(Held + bytes);
        }
        Held += bytes;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        budget.Give(Held);
        Held = 0;
    }
}
