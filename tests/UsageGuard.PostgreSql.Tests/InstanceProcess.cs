using System.Diagnostics;
using System.Reflection;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>The UsageGuard.PostgreSql.Instance child process: one application instance on a shared store, run with <c>dotnet</c>.</summary>
internal sealed class InstanceProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Task _stdout;
    private readonly Task<string> _stderr;

    private InstanceProcess(Process process)
    {
        _process = process;
        _stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_lines)
                {
                    _lines.Add(line);
                }
            }
        });
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public static InstanceProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(InstancePath());
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new InstanceProcess(Process.Start(start) ?? throw new InvalidOperationException("The instance did not start."));
    }

    /// <summary>Waits for a line starting with <paramref name="prefix"/> and returns the rest of it.</summary>
    public async Task<string> WaitForAsync(string prefix, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (_lines)
            {
                string? found = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
                if (found is not null)
                {
                    return found[prefix.Length..].Trim();
                }
            }

            if (_stdout.IsCompleted && _process.HasExited)
            {
                break;
            }

            await Task.Delay(20);
        }

        string stderr = _stderr.IsCompleted ? await _stderr : "(running)";
        throw new InvalidOperationException($"The instance did not print '{prefix}' within {timeout}. stdout: {string.Join(" | ", _lines)}; stderr: {stderr}");
    }

    /// <summary>Gets the last lines the child printed, for a failure's message.</summary>
    public string Tail(int lines)
    {
        lock (_lines)
        {
            return string.Join(" | ", _lines.TakeLast(lines));
        }
    }

    /// <summary>Gets the rest of the newest line starting with <paramref name="prefix"/>, or null when none came yet.</summary>
    public string? Latest(string prefix)
    {
        lock (_lines)
        {
            return _lines.LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..].Trim();
        }
    }

    /// <summary>Waits until the child exits by itself (after its shutdown returned its leases); returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the child with SIGKILL: nothing of it runs again, its leases are not returned.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();

        // What it printed before it died is still in the pipe: read it all, so the last line read is the last line printed.
        _stdout.Wait(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private static string InstancePath()
    {
        string? path = typeof(InstanceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "InstancePath")?.Value;
        return path is not null && File.Exists(path)
            ? path
            : throw new FileNotFoundException($"The instance is not built at '{path}'; build tests/UsageGuard.PostgreSql.Instance in the same configuration as the tests.", path);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } cli && File.Exists(cli) ? cli : "dotnet";
}
