namespace Quiver.Testing;

/// <summary>Puts a <see cref="FaultInjectingFileSystem"/> under an engine that a test does not open itself (a server's,
/// through its options): <see cref="QuiverOptions"/>' file system is internal to the engine and its tests.</summary>
public static class EngineFileSystem
{
    /// <summary><paramref name="options"/> with every file the engine touches going through <paramref name="fileSystem"/>.</summary>
    public static QuiverOptions With(QuiverOptions options, FaultInjectingFileSystem fileSystem)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with { FileSystem = fileSystem };
    }
}
