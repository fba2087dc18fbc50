using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Samples;

/// <summary>Runs samples/AgentBudget in-process and checks the story it tells: the trip, the open breaker, a new session, the reset, the totals.</summary>
[TestFixture]
public sealed class AgentBudgetSampleTests() : SampleFixture(AgentBudget.Program.RunAsync)
{
    [Test]
    public void RunAsync_RunawayLoop_SixStepsAdmittedThenStepSevenTripsTheSession()
    {
        Lines.Should().Contain("6   2396    212  $0.010368  $0.041223  $0.008777   6/10");
        Lines.Should().Contain("7 refused: SessionTripped");
        Lines.Should().Contain("denied by budget 'agent-run' at level agent:researcher, session run-1");
        Lines.Should().Contain("Credits limit $0.050000, used and held $0.041223; no window: the limit spans the whole run; no retry-after: only a reset re-opens the session");
        Output.Should().Contain("has no room for 0.015999 credits: 0.041223 of 0.050000 used or held in all.");
    }

    [Test]
    public void RunAsync_AfterTheTrip_TheBreakerStaysOpenForAFittingRequest() =>
        Lines.Should().Contain("refused: SessionTripped at session:run-1, tripped by 'agent-run'; it would have fit in the $0.008777 left");

    [Test]
    public void RunAsync_NewSessionAndReset_BothAreAdmitted()
    {
        Lines.Should().Contain("3   1002    240  $0.006606  $0.014343  $0.035657   3/10");
        Lines.Should().Contain("ResetSession(acme, run-1): True; run-1 used $0.000000, tripped False");
        Lines.Should().Contain("7   2833    187  $0.011304  $0.011304  $0.038696   1/10");
    }

    [Test]
    public void RunAsync_Totals_StepCostsEqualTheCharges()
    {
        Lines.Should().Contain("run-1    Credits    $0.050000  $0.011304  $0.038696  False");
        Lines.Should().Contain("run-2    Requests          10          3          7  False");
        Lines.Should().Contain("granted $5.000000, charged $0.066870, balance $4.933130, held $0.000000");
        Lines.Should().Contain("the steps' costs add up to $0.066870: equal to the charges");
    }
}
