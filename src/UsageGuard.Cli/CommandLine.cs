using System.Globalization;

namespace UsageGuard.Cli;

/// <summary>A parsed command line: the command, then <c>--name value</c> options (and <c>--flag</c> switches).</summary>
internal sealed class CommandLine
{
    private static readonly HashSet<string> s_switches = new(StringComparer.Ordinal) { "help" };
    private readonly Dictionary<string, string> _options;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private CommandLine(string command, Dictionary<string, string> options)
    {
        Command = command;
        _options = options;
    }

    internal string Command { get; }

    /// <exception cref="UsageException">An option has no value, is given twice, or is not an option.</exception>
    internal static CommandLine Parse(string[] args)
    {
        if (args.Length == 0)
        {
            return new CommandLine("help", new(StringComparer.Ordinal));
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new UsageException($"Unexpected argument '{arg}': options are written --name value.");
            }

            string name = arg[2..];
            string value;
            if (s_switches.Contains(name))
            {
                value = "true";
            }
            else if (i + 1 >= args.Length)
            {
                throw new UsageException($"The option --{name} needs a value.");
            }
            else
            {
                value = args[++i];
            }

            if (!options.TryAdd(name, value))
            {
                throw new UsageException($"The option --{name} is given twice.");
            }
        }

        return new CommandLine(args[0] is "-h" or "--help" ? "help" : args[0], options);
    }

    internal string? Optional(string name)
    {
        _read.Add(name);
        return _options.GetValueOrDefault(name);
    }

    /// <exception cref="UsageException">The option is missing.</exception>
    internal string Required(string name, string what) =>
        Optional(name) ?? throw new UsageException($"The command '{Command}' needs --{name} ({what}).");

    /// <exception cref="UsageException">The value is not a date in the form yyyy-MM-dd.</exception>
    internal DateOnly Date(string name, string what)
    {
        string text = Required(name, what);
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly day)
            ? day
            : throw new UsageException($"--{name} '{text}' is not a date; write it as yyyy-MM-dd, e.g. 2026-11-08.");
    }

    /// <exception cref="UsageException">The value is not a whole number in the range.</exception>
    internal int Number(string name, int fallback, int min, int max)
    {
        string? text = Optional(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new UsageException($"--{name} '{text}' must be a whole number from {min} to {max}.");
    }

    /// <summary>Refuses options the command did not read: a misspelt option must not be silently ignored.</summary>
    /// <exception cref="UsageException">An option was not read.</exception>
    internal void RejectUnknown()
    {
        foreach (string name in _options.Keys)
        {
            if (!_read.Contains(name))
            {
                throw new UsageException($"The command '{Command}' has no option --{name}. Run 'usageguard help' for the options.");
            }
        }
    }
}

/// <summary>A command line that cannot run as written; the message says what to change.</summary>
internal sealed class UsageException(string message) : Exception(message);
