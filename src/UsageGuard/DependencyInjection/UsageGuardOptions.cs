using System.ComponentModel.DataAnnotations;

namespace UsageGuard;

/// <summary>Configures the guard and its ledger. Validated at start; an invalid value stops the host with a message naming it.</summary>
public sealed class UsageGuardOptions
{
    /// <summary>Gets the credit types; when empty, one type named <see cref="DefaultCreditType"/> with scale 6 is used.</summary>
    /// <value>The default value is an empty list.</value>
    public IList<CreditTypeOptions> CreditTypes { get; } = new List<CreditTypeOptions>();

    /// <summary>Gets or sets the credit type used when a request names none.</summary>
    /// <value>The default value is <c>credits</c>.</value>
    [Required]
    public string DefaultCreditType { get; set; } = UsageGuardDefaults.CreditType;

    /// <summary>Gets or sets the TTL of a reservation that names none.</summary>
    /// <value>The default value is 5 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan DefaultReservationTtl { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.ReservationTtlSeconds);

    /// <summary>Gets or sets the longest TTL a reservation may ask for.</summary>
    /// <value>The default value is 24 hours.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "366.00:00:00")]
    public TimeSpan MaxReservationTtl { get; set; } = TimeSpan.FromSeconds(UsageGuardDefaults.MaxReservationTtlSeconds);

    /// <summary>Gets or sets what settling above the hold does when the request names no policy.</summary>
    /// <value>The default value is <see cref="SettlementPolicy.Reject"/>.</value>
    public SettlementPolicy DefaultOverrunPolicy { get; set; } = SettlementPolicy.Reject;

    /// <summary>Gets or sets when settlements and consumptions complete when the request does not say.</summary>
    /// <value>The default value is <see cref="Durability.Durable"/>.</value>
    public Durability SettlementDurability { get; set; } = Durability.Durable;

    /// <summary>Gets or sets when grants, voids and adjustments complete when the request does not say.</summary>
    /// <value>The default value is <see cref="Durability.Durable"/>.</value>
    public Durability GrantDurability { get; set; } = Durability.Durable;

    /// <summary>Gets or sets what the guard does while the ledger store cannot take writes.</summary>
    /// <value>The default value is <see cref="StoreFailurePolicy.FailClosed"/>.</value>
    public StoreFailurePolicy StoreFailurePolicy { get; set; } = StoreFailurePolicy.FailClosed;

    /// <summary>Gets or sets a value indicating whether holds are written to the ledger as <see cref="LedgerEntryKind.Reserve"/> and <see cref="LedgerEntryKind.Release"/> entries.</summary>
    /// <value>The default value is <see langword="false"/>: holds live in memory only, and a crash releases them.</value>
    public bool RecordHolds { get; set; }

    /// <summary>Gets or sets the longest identifier accepted, in characters.</summary>
    /// <value>The default value is 256.</value>
    [Range(1, 4096)]
    public int MaxIdLength { get; set; } = UsageGuardDefaults.MaxIdLength;

    /// <summary>Gets or sets the ledger queue's capacity, in commands (one per operation, whatever its number of entries); a full queue makes writers wait.</summary>
    /// <value>The default value is 8,192; the queue is allocated up front (about 300 bytes a command) and rounded up to a power of two.</value>
    [Range(16, 16_777_216)]
    public int LedgerQueueCapacity { get; set; } = UsageGuardDefaults.LedgerQueueCapacity;

    /// <summary>Gets or sets the most entries committed in one batch.</summary>
    /// <value>The default value is 4,096.</value>
    [Range(1, 1_048_576)]
    public int MaxBatchSize { get; set; } = UsageGuardDefaults.MaxBatchSize;

    /// <summary>Gets or sets the number of entries between snapshots; 0 writes one only at shutdown.</summary>
    /// <value>The default value is 100,000.</value>
    [Range(0, int.MaxValue)]
    public int SnapshotInterval { get; set; } = UsageGuardDefaults.SnapshotInterval;

    /// <summary>Gets or sets how long idempotency keys are remembered.</summary>
    /// <value>The default value is 35 days.</value>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromDays(UsageGuardDefaults.IdempotencyRetentionDays);

    /// <summary>Gets or sets how often unsettled reservations past their TTL are released in the background; <see cref="TimeSpan.Zero"/> turns the sweep off. They are also released lazily whenever a wallet runs short, so correctness never depends on it.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ReservationSweepInterval { get; set; } = TimeSpan.FromMilliseconds(UsageGuardDefaults.ReservationSweepMilliseconds);
}
