using System.CommandLine;
using Quiver.Toolbox;

namespace Quiver.Cli.Ops.Cli;

/// <summary>
/// Where an operator command works: an embedded data folder (<c>--data</c>, the default <c>./data</c>) or a running
/// server (<c>--uri</c>), with credentials (<c>--token</c>, or <c>--user</c> with the password in
/// <c>QUIVER_PASSWORD</c>) and a database (<c>--db</c>). Every operator command adds these options with
/// <see cref="AddTo"/> and opens its target with <see cref="TargetSpec.OpenAsync"/>.
/// </summary>
internal sealed class TargetOptions
{
    /// <summary>The embedded data folder.</summary>
    public Option<string?> Data { get; } = new("--data")
    {
        Description = "Embedded data folder (default ./data unless --uri is given). The folder must not be in use by a running server.",
    };

    /// <summary>The server address.</summary>
    public Option<string?> Uri { get; } = new("--uri")
    {
        Description = "A running server instead of a folder, e.g. http://127.0.0.1:19530 (env QUIVER_URI).",
    };

    /// <summary>API key or user:password (also QUIVER_TOKEN).</summary>
    public Option<string?> Token { get; } = new("--token")
    {
        Description = "API key or user:password for the server (prefer env QUIVER_TOKEN: a command line is visible to other local users).",
    };

    /// <summary>User name (password from QUIVER_PASSWORD).</summary>
    public Option<string?> User { get; } = new("--user")
    {
        Description = "User name for the server; the password is read from env QUIVER_PASSWORD.",
    };

    /// <summary>The database.</summary>
    public Option<string?> Database { get; } = new("--db")
    {
        Description = "Database (default 'default').",
    };

    /// <summary>Adds the target options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Data);
        command.Options.Add(Uri);
        command.Options.Add(Token);
        command.Options.Add(User);
        command.Options.Add(Database);
    }

    /// <summary>Reads the parsed options into a <see cref="TargetSpec"/> (environment variables fill what the command
    /// line leaves out).</summary>
    public TargetSpec Read(ParseResult parse)
    {
        var uri = parse.GetValue(Uri) ?? Environment.GetEnvironmentVariable("QUIVER_URI");
        var data = parse.GetValue(Data);
        if (uri is not null && data is not null)
        {
            throw new ToolboxException("give either --data (an embedded folder) or --uri (a running server), not both");
        }

        return new TargetSpec(
            uri is null ? data ?? "data" : null,
            uri,
            parse.GetValue(Token) ?? Environment.GetEnvironmentVariable("QUIVER_TOKEN"),
            parse.GetValue(User),
            Environment.GetEnvironmentVariable("QUIVER_PASSWORD"),
            parse.GetValue(Database) ?? QuiverEngine.DefaultDatabase);
    }
}
