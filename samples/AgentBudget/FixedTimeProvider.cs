namespace AgentBudget;

/// <summary>A clock that stands still, so that every run prints the same windows and ledger times.</summary>
/// <remarks>Timers still run on the system clock; nothing the sample prints depends on them.</remarks>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
