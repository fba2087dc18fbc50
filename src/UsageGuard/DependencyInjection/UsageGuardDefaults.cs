namespace UsageGuard;

/// <summary>The default values of <see cref="UsageGuardOptions"/>, in one place.</summary>
public static partial class UsageGuardDefaults
{
    /// <summary>The default credit type code.</summary>
    public const string CreditType = "credits";

    /// <summary>The default number of decimal places of a credit type.</summary>
    public const int CreditScale = 6;

    /// <summary>The default reservation TTL, in seconds (5 minutes).</summary>
    public const int ReservationTtlSeconds = 300;

    /// <summary>The longest TTL a reservation may ask for, in seconds (24 hours).</summary>
    public const int MaxReservationTtlSeconds = 86_400;

    /// <summary>The longest identifier accepted, in characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>The ledger queue's capacity, in entries.</summary>
    public const int LedgerQueueCapacity = 8_192;

    /// <summary>The most entries committed in one batch.</summary>
    public const int MaxBatchSize = 4_096;

    /// <summary>The number of entries between snapshots.</summary>
    public const int SnapshotInterval = 100_000;

    /// <summary>How long idempotency keys are remembered, in days.</summary>
    public const int IdempotencyRetentionDays = 35;

    /// <summary>How often expired reservations are swept in the background, in milliseconds; correctness never depends on it.</summary>
    public const int ReservationSweepMilliseconds = 1_000;
}
