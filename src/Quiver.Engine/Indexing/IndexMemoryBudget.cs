namespace Quiver.Indexing;

/// <summary>The default of <see cref="QuiverOptions.IndexMemoryBudgetBytes"/>, which AUTOINDEX compares an in-memory
/// index's estimated resident memory against (and <c>quiver advise</c> uses when given no budget).</summary>
public static class IndexMemoryBudget
{
    /// <summary>The fraction of <see cref="AvailableBytes"/> the default budget gives to vector indexes: the other half
    /// is left to the page cache (segment vectors are memory-mapped, and DISKANN reads its graph through it), scalar
    /// columns, growing segments and requests.</summary>
    public const double DefaultFraction = 0.5;

    /// <summary>Memory available to this process: what the .NET runtime reports as its total available memory, which is
    /// the machine's physical memory, or the cgroup's memory limit (v1 <c>memory.limit_in_bytes</c>, v2
    /// <c>memory.max</c>) when that is lower, or <c>DOTNET_GCHeapHardLimit</c> when set.</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary><see cref="DefaultFraction"/> of <see cref="AvailableBytes"/>, at least 1 byte.</summary>
    public static long Default => Math.Max(1, (long)(AvailableBytes * DefaultFraction));
}
