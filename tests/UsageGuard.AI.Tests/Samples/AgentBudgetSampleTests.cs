using System.Globalization;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Samples;

/// <summary>Runs samples/AgentBudget in-process and checks the story it tells: the trip, the open breaker, a new session, the reset, the totals.</summary>
[TestFixture]
public sealed class AgentBudgetSampleTests
{
    private int _exitCode;
    private string _output = "";
    private string[] _lines = [];
    private string _secondOutput = "";

    [OneTimeSetUp]
    public async Task RunSampleTwice()
    {
        (_exitCode, _output) = await RunAsync();
        // The second run under a culture with a decimal comma: the sample formats invariantly, so nothing may change.
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

        _lines = _output.Split('\n').Select(l => l.TrimEnd('\r').Trim()).ToArray();
    }

    [Test]
    public void RunAsync_Completes_ExitsWithZero() => _exitCode.Should().Be(0, _output);

    [Test]
    public void RunAsync_TwiceInOneProcessUnderAnotherCulture_PrintsTheSameOutput() => _secondOutput.Should().Be(_output);

    [Test]
    public void RunAsync_RunawayLoop_SixStepsAdmittedThenStepSevenTripsTheSession()
    {
        _lines.Should().Contain("6   2396    212  $0.010368  $0.041223  $0.008777   6/10");
        _lines.Should().Contain("7 refused: SessionTripped");
        _lines.Should().Contain("denied by budget 'agent-run' at level agent:researcher, session run-1");
        _lines.Should().Contain("Credits limit $0.050000, used and held $0.041223; no window: the limit spans the whole run; no retry-after: only a reset re-opens the session");
        _output.Should().Contain("has no room for 0.015999 credits: 0.041223 of 0.050000 used or held in all.");
    }

    [Test]
    public void RunAsync_AfterTheTrip_TheBreakerStaysOpenForAFittingRequest() =>
        _lines.Should().Contain("refused: SessionTripped at session:run-1, tripped by 'agent-run'; it would have fit in the $0.008777 left");

    [Test]
    public void RunAsync_NewSessionAndReset_BothAreAdmitted()
    {
        _lines.Should().Contain("3   1002    240  $0.006606  $0.014343  $0.035657   3/10");
        _lines.Should().Contain("ResetSession(acme, run-1): True; run-1 used $0.000000, tripped False");
        _lines.Should().Contain("7   2833    187  $0.011304  $0.011304  $0.038696   1/10");
    }

    [Test]
    public void RunAsync_Totals_StepCostsEqualTheCharges()
    {
        _lines.Should().Contain("run-1    Credits    $0.050000  $0.011304  $0.038696  False");
        _lines.Should().Contain("run-2    Requests          10          3          7  False");
        _lines.Should().Contain("granted $5.000000, charged $0.066870, balance $4.933130, held $0.000000");
        _lines.Should().Contain("the steps' costs add up to $0.066870: equal to the charges");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync()
    {
        using var output = new StringWriter();
        int exitCode = await AgentBudget.Program.RunAsync(output);
        return (exitCode, output.ToString());
    }
}
