namespace TeamChat;

/// <summary>A clock that moves only when the sample moves it, so that every run prints the same times and windows.</summary>
/// <remarks>Timers still run on the system clock; nothing the sample prints depends on them.</remarks>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
