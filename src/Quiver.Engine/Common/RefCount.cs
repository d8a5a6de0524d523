namespace Quiver.Common;

/// <summary>Reference counting for shared resources whose last release frees them (segments, attached indexes).</summary>
internal static class RefCount
{
    /// <summary>Takes a reference unless the count already reached zero (the resource is gone for good).</summary>
    public static bool TryAcquire(ref int refs)
    {
        while (true)
        {
            var r = Volatile.Read(ref refs);
            if (r == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref refs, r + 1, r) == r)
            {
                return true;
            }
        }
    }
}
