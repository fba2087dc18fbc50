using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace UsageGuard.Sqlite.Tests;

/// <summary>
/// The UsageGuard.Sqlite.CrashHost child process: settles reservations against a SQLite file and prints
/// <c>ack &lt;reservationId&gt;</c> for each completed settlement, until it is killed.
/// </summary>
/// <remarks>
/// Standard output is read as bytes and split on <c>\n</c> only: a line the kill cut short has no terminator and is
/// not counted (read as a line, <c>ack 12</c> cut from <c>ack 1234</c> would name another reservation).
/// </remarks>
internal sealed class CrashHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<long> _acks = [];
    private readonly List<string> _unexpected = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdout;
    private readonly Task<string> _stderr;
    private TaskCompletionSource? _ackTarget;
    private int _ackTargetCount;
    private string _cutShort = "";

    private CrashHostProcess(Process process)
    {
        _process = process;
        _stdout = Task.Run(ReadStdoutAsync);
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Gets the child's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Gets how many settlements the child has acknowledged so far.</summary>
    public int AckCount
    {
        get
        {
            lock (_gate)
            {
                return _acks.Count;
            }
        }
    }

    /// <summary>Gets the acknowledged reservation ids, once the child is gone and its output read to the end.</summary>
    public IReadOnlyList<long> Acks
    {
        get
        {
            lock (_gate)
            {
                return [.. _acks];
            }
        }
    }

    /// <summary>Gets stdout lines that were neither <c>ready</c> nor an ack, and the trailing part of a line the kill cut short.</summary>
    public string Unexpected
    {
        get
        {
            lock (_gate)
            {
                return string.Join(" | ", _unexpected) + (_cutShort.Length > 0 ? $" (cut short: '{_cutShort}')" : "");
            }
        }
    }

    /// <summary>Gets what the child wrote to standard error; complete once the child has exited.</summary>
    public string Stderr => _stderr.IsCompleted ? _stderr.Result : "(still running)";

    /// <summary>Starts the child with <c>dotnet &lt;CrashHost.dll&gt; &lt;args&gt;</c>.</summary>
    public static CrashHostProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        start.ArgumentList.Add(HostPath());
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new CrashHostProcess(Process.Start(start) ?? throw new InvalidOperationException("The crash host did not start."));
    }

    /// <summary>Waits for <c>ready</c>: the child has opened the store, replayed it and seeded the customer.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task first = await Task.WhenAny(_ready.Task, _stdout, Task.Delay(timeout, cancellationToken));
        if (first == _ready.Task)
        {
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        string why = first == _stdout ? "exited before it was ready" : $"was not ready within {timeout}";
        Kill();
        await DrainAsync(TimeSpan.FromSeconds(10));
        throw new InvalidOperationException($"The crash host {why}. stdout: {Unexpected}; stderr: {Stderr}");
    }

    /// <summary>Waits until the child has acknowledged at least <paramref name="count"/> settlements.</summary>
    public async Task WaitForAcksAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task reached;
        lock (_gate)
        {
            if (_acks.Count >= count)
            {
                return;
            }

            _ackTargetCount = count;
            _ackTarget = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            reached = _ackTarget.Task;
        }

        Task first = await Task.WhenAny(reached, _stdout, Task.Delay(timeout, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        if (first != reached)
        {
            throw new InvalidOperationException($"The crash host acknowledged {AckCount} of {count} settlements, then {(first == _stdout ? "exited" : $"nothing more within {timeout}")}. stdout: {Unexpected}; stderr: {Stderr}");
        }
    }

    /// <summary>Kills the child and its tree with SIGKILL (TerminateProcess on Windows), then reads its output to the end.</summary>
    public async Task KillAndDrainAsync(CancellationToken cancellationToken)
    {
        Kill();
        await _process.WaitForExitAsync(cancellationToken);
        await DrainAsync(TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private async Task DrainAsync(TimeSpan timeout)
    {
        // The pipes reach end-of-file once the child is gone; bounded so that a stray grandchild holding them cannot hang the test.
        Task all = Task.WhenAll(_stdout, _stderr);
        if (await Task.WhenAny(all, Task.Delay(timeout)) != all)
        {
            throw new TimeoutException($"The crash host's output did not end within {timeout} of its exit.");
        }
    }

    private async Task ReadStdoutAsync()
    {
        Stream stream = _process.StandardOutput.BaseStream;
        byte[] buffer = new byte[64 * 1024];
        var line = new StringBuilder();
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            for (int i = 0; i < read; i++)
            {
                byte b = buffer[i];
                if (b == (byte)'\n')
                {
                    OnLine(line.ToString().TrimEnd('\r'));
                    line.Clear();
                }
                else
                {
                    line.Append((char)b);
                }
            }
        }

        lock (_gate)
        {
            _cutShort = line.ToString();
        }
    }

    private void OnLine(string line)
    {
        if (line == "ready")
        {
            _ready.TrySetResult();
            return;
        }

        lock (_gate)
        {
            if (line.StartsWith("ack ", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
            {
                _acks.Add(id);
                if (_ackTarget is not null && _acks.Count >= _ackTargetCount)
                {
                    _ackTarget.TrySetResult();
                    _ackTarget = null;
                }
            }
            else
            {
                _unexpected.Add(line);
            }
        }
    }

    private static string HostPath()
    {
        string? path = typeof(CrashHostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "CrashHostPath")?.Value;
        if (path is null || !File.Exists(path))
        {
            throw new FileNotFoundException($"The crash host is not built at '{path}'; build tests/UsageGuard.Sqlite.CrashHost in the same configuration as the tests.", path);
        }

        return path;
    }

    private static string DotnetHost()
    {
        // The dotnet CLI tells the processes it starts where it is; a test host started by it is itself run by dotnet.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } cli && File.Exists(cli))
        {
            return cli;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
