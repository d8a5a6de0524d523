namespace Quiver;

/// <summary>A write was refused because what the engine holds in memory (growing rows and in-memory indexes) would pass
/// <see cref="QuiverOptions.MemoryBudgetBytes"/> even after its growing segments were sealed to disk. Nothing of the
/// write was stored. <see cref="QuiverException.Code"/> is <see cref="QuiverErrorCode.Capacity"/>; a server answers it
/// with Milvus's quota error (code 9, <c>quota exceeded[reason=memory quota exceeded, please allocate more
/// resources]</c>).</summary>
public sealed class MemoryQuotaExceededException : QuiverException
{
    /// <summary>Milvus's reason for a write refused by its memory quota.</summary>
    public const string QuotaReason = "memory quota exceeded, please allocate more resources";

    /// <summary>Creates the refusal of a write of <paramref name="requestedBytes"/>.</summary>
    public MemoryQuotaExceededException(string detail, long requestedBytes, long usedBytes, long budgetBytes)
        : base(QuiverErrorCode.Capacity, $"{QuotaReason}: {detail}")
    {
        Detail = detail;
        RequestedBytes = requestedBytes;
        UsedBytes = usedBytes;
        BudgetBytes = budgetBytes;
    }

    /// <summary>What was refused and what the engine held, without <see cref="QuotaReason"/>.</summary>
    public string Detail { get; }

    /// <summary>The bytes the refused rows would have taken in memory.</summary>
    public long RequestedBytes { get; }

    /// <summary>The bytes the engine held (growing rows, in-memory indexes, writes in flight) when it refused.</summary>
    public long UsedBytes { get; }

    /// <summary><see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
    public long BudgetBytes { get; }
}
