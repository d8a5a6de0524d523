namespace Quiver.Toolbox;

/// <summary>A toolbox call refused or failed because of its input: bad options, an unreadable or malformed file, a
/// missing collection or field, too few rows. The message names the problem (file, line or row, field, value). The
/// command line prints it as one line (<c>quiver CMD: error: MESSAGE</c>) with exit code 1. Failures of the database
/// itself surface as they are (<c>QuiverException</c>, <c>QuiverServerException</c>).</summary>
public sealed class ToolboxException : Exception
{
    /// <summary>A failure with its message.</summary>
    public ToolboxException(string message)
        : base(message)
    {
    }

    /// <summary>A failure with its message and cause.</summary>
    public ToolboxException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
