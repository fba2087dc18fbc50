using System.Globalization;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Samples;

/// <summary>Runs a sample in-process twice (the second time under a culture with a decimal comma) and keeps what it printed.</summary>
public abstract class SampleFixture(Func<TextWriter, Task<int>> run)
{
    private int _exitCode;
    private string _secondOutput = "";

    /// <summary>Gets what the first run printed.</summary>
    protected string Output { get; private set; } = "";

    /// <summary>Gets the first run's lines, trimmed.</summary>
    protected string[] Lines { get; private set; } = [];

    [OneTimeSetUp]
    public async Task RunSampleTwice()
    {
        (_exitCode, Output) = await RunAsync();

        // The sample formats invariantly, so nothing may change under another culture.
        CultureInfo culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            (_, _secondOutput) = await RunAsync();
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }

        Lines = Output.Split('\n').Select(l => l.TrimEnd('\r').Trim()).ToArray();
    }

    [Test]
    public void RunAsync_Completes_ExitsWithZero() => _exitCode.Should().Be(0, Output);

    [Test]
    public void RunAsync_TwiceInOneProcessUnderAnotherCulture_PrintsTheSameOutput() => _secondOutput.Should().Be(Output);

    private async Task<(int ExitCode, string Output)> RunAsync()
    {
        using var output = new StringWriter();
        int exitCode = await run(output);
        return (exitCode, output.ToString());
    }
}
