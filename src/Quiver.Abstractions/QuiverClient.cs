namespace Quiver.Client;

/// <summary>Where an <see cref="IQuiverClient"/> is opened. The members come with the package that does the work, so
/// code that only takes an <see cref="IQuiverClient"/> needs neither: <c>QuiverClient.OpenEmbeddedAsync</c> and
/// <c>QuiverClient.FromEngine</c> with the engine (package QuiverVec.Engine), <c>QuiverClient.ConnectAsync</c> with the
/// remote client (package QuiverVec.Client), each an extension member in this namespace (C# 14).</summary>
public static class QuiverClient
{
    /// <summary>The database a call acts on when it names none, embedded and on a server: <c>default</c>.</summary>
    public const string DefaultDatabase = "default";
}
