namespace Quiver;

/// <summary>Throws the engine's <see cref="QuiverException"/>s.</summary>
internal static class Throw
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Invalid(string message) => throw new QuiverException(QuiverErrorCode.InvalidArgument, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void NotFound(string message) => throw new QuiverException(QuiverErrorCode.NotFound, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Exists(string message) => throw new QuiverException(QuiverErrorCode.AlreadyExists, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Capacity(string message) => throw new QuiverException(QuiverErrorCode.Capacity, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Corrupt(string path, string message) => throw new CorruptionException(path, message);
}
