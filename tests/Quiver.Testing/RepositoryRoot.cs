namespace Quiver.Testing;

/// <summary>The repository a test runs from: the folder above the test's binaries that holds Quiver.slnx.</summary>
public static class RepositoryRoot
{
    /// <summary>The repository's root folder.</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Quiver.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Quiver.slnx not found above " + AppContext.BaseDirectory);
    }
}
