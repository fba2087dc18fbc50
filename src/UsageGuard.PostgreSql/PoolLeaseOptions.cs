namespace UsageGuard.PostgreSql;

/// <summary>How an instance sizes and keeps its leases on shared credit blocks (<see cref="PostgreSqlLedgerStoreOptions.ManyInstances"/>).</summary>
public sealed class PoolLeaseOptions
{
    /// <summary>Gets or sets how long a slice should last at the instance's rate of spend: the slice follows the rate.</summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan TargetLeaseDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets how long a lease lives without a report; the instance reports every third of it.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long after its expiry a lease is swept (given back to its pool): the longest a paused instance may still settle.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan SweepGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how often the background refill looks at the leases (tops up those below half a slice, returns idle ones).</summary>
    /// <value>The default value is 50 milliseconds.</value>
    public TimeSpan RefillInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Gets or sets how long a lease may sit unused before its units go back to the pool.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan IdleReturn { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Validates the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A duration is not positive, or the report interval would not fit in the TTL.</exception>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(TargetLeaseDuration, TimeSpan.Zero, "Leases.TargetLeaseDuration");
        ArgumentOutOfRangeException.ThrowIfLessThan(LeaseTtl, TimeSpan.FromSeconds(1), "Leases.LeaseTtl");
        ArgumentOutOfRangeException.ThrowIfLessThan(SweepGrace, TimeSpan.Zero, "Leases.SweepGrace");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RefillInterval, TimeSpan.Zero, "Leases.RefillInterval");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RefillInterval, LeaseTtl / 3, "Leases.RefillInterval");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleReturn, TimeSpan.Zero, "Leases.IdleReturn");
    }
}
