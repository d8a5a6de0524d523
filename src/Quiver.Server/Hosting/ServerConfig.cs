using System.Collections;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Quiver.Server.Hosting;

/// <summary>
/// Reads <see cref="ServerOptions"/> from its sources, later ones winning: the defaults, the JSON config file, the
/// <c>QUIVER_*</c> environment variables, the command line. Every source is a flat set of configuration keys
/// (<c>Port</c>, <c>Engine:Durability</c>, ...) bound onto <see cref="ServerOptions"/> by
/// <c>Microsoft.Extensions.Configuration</c> binding, so a setting added to the options (a nested options object
/// included) is readable from every source without a change here.
/// </summary>
public static class ServerConfig
{
    /// <summary>The prefix of the environment variables read: <c>QUIVER_PORT</c> sets <c>Port</c>,
    /// <c>QUIVER_ENGINE__DURABILITY</c> sets <c>Engine:Durability</c> (a double underscore separates levels).</summary>
    public const string EnvironmentPrefix = "QUIVER_";

    /// <summary>The key naming the config file (command line <c>--config</c>, environment <c>QUIVER_CONFIG</c>).</summary>
    public const string ConfigFileKey = "Config";

    /// <summary>Builds the options. <paramref name="commandLine"/> holds the keys given on the command line (unset
    /// options absent); <paramref name="environment"/> defaults to the process environment. The config file is the
    /// command line's <see cref="ConfigFileKey"/>, else the environment's. Throws <see cref="ArgumentException"/>
    /// naming the source and key of a bad value, an unknown key in the config file, or a missing file.</summary>
    public static ServerOptions Load(IReadOnlyDictionary<string, string?> commandLine, IDictionary? environment = null)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var fromEnvironment = EnvironmentKeys(environment ?? Environment.GetEnvironmentVariables());
        var configFile = Find(commandLine, ConfigFileKey) ?? Find(fromEnvironment, ConfigFileKey);

        var builder = new ConfigurationBuilder();
        if (!string.IsNullOrEmpty(configFile))
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path))
            {
                throw new ArgumentException($"config file '{path}' does not exist");
            }
            CheckKnownKeys(path);
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        builder.AddInMemoryCollection(fromEnvironment);
        builder.AddInMemoryCollection(commandLine);

        var options = new ServerOptions();
        try
        {
            builder.Build().Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException($"bad server setting: {e.Message}", e);
        }
        Validate(options);
        return options;
    }

    /// <summary>The configuration keys set by <c>QUIVER_*</c> variables: the prefix removed, <c>__</c> turned into
    /// <c>:</c>. Variables of other tools that share the prefix (<c>QUIVER_LONG</c> of the test tiers) bind to nothing
    /// and are ignored.</summary>
    internal static Dictionary<string, string?> EnvironmentKeys(IDictionary environment)
    {
        var keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is string name && name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase)
                && name.Length > EnvironmentPrefix.Length)
            {
                keys[name[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = entry.Value as string;
            }
        }
        return keys;
    }

    private static string? Find(IReadOnlyDictionary<string, string?> keys, string key) =>
        keys.FirstOrDefault(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>A key in the file that binds to nothing is a typo the operator wants to hear about. (The binder's own
    /// <c>ErrorOnUnknownConfiguration</c> ignores <see cref="ConfigurationKeyNameAttribute"/>, hence this walk.)</summary>
    private static void CheckKnownKeys(string path)
    {
        IConfigurationRoot file;
        try
        {
            file = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"config file '{path}' is not valid JSON: {e.Message}", e);
        }
        if (UnknownKey(file, typeof(ServerOptions)) is { } unknown)
        {
            throw new ArgumentException($"config file '{path}': the key '{unknown}' is not a server setting (see docs/server-ops.md)");
        }
    }

    /// <summary>The first key under <paramref name="section"/> that names no settable public property of
    /// <paramref name="type"/> (by its <see cref="ConfigurationKeyNameAttribute"/> or name, ignoring case), searching
    /// nested options objects; null when all are known. Values of collection-typed settings are not checked.</summary>
    internal static string? UnknownKey(IConfiguration section, Type type)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p =>
                (p.SetMethod is { IsPublic: true } || IsOptionsObject(p.PropertyType)) // the binder fills get-only objects
                && string.Equals(p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                return child.Path;
            }
            if (IsOptionsObject(property.PropertyType) && UnknownKey(child, property.PropertyType) is { } unknown)
            {
                return unknown;
            }
        }
        return null;
    }

    private static bool IsOptionsObject(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type);

    private static void Validate(ServerOptions options)
    {
        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentException($"port {options.Port} is out of range 0..65535");
        }
        if (!IPAddress.TryParse(options.Host, out _))
        {
            throw new ArgumentException($"host '{options.Host}' is not an IP address");
        }
        if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            throw new ArgumentException("data folder is empty");
        }
        if (options.ShutdownTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException($"shutdown timeout {options.ShutdownTimeout} is negative");
        }
        options.Monitoring.Validate();
        options.Console.Validate();
        options.Memory.Validate(options.Security.MaxMessageBytes);
        options.Security.AuditLimits.Validate();
    }
}
