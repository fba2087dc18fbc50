using System.Diagnostics;
using System.Reflection;

namespace UsageGuard.Cli.Tests;

/// <summary>Runs the admin tool as a child process (<c>dotnet UsageGuard.Cli.dll …</c>) and captures what it prints.</summary>
internal static class CliProcess
{
    internal sealed record Result(int ExitCode, string Output, string Error);

    private static string Path_ => typeof(CliProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "CliPath").Value!;

    internal static async Task<Result> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path_);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }
}
