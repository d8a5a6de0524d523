namespace Quiver.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: quiver <command>");
        return args.Length == 0 ? 2 : 0;
    }
}
