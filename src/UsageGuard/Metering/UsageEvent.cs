namespace UsageGuard;

/// <summary>One settlement, with everything that says who used what and what it cost: a row of the audit export and a billing event.</summary>
/// <remarks>
/// <para>Made from the ledger (<see cref="UsageEvents.ReadAsync"/>): the entry that carries the settlement's
/// <see cref="SettlementRecord"/>, and the <see cref="LedgerEntryKind.Settle"/> entries just before it that say which blocks paid.
/// Reading the ledger again makes the same events with the same ids.</para>
/// <para>Immutable; safe to share between threads.</para>
/// </remarks>
public sealed class UsageEvent
{
    /// <summary>Gets the event's id: the hash of the ledger entry that records the settlement, 64 lowercase hex digits.</summary>
    /// <remarks>Unique and stable, so a sink that receives an event twice (delivery is at least once) drops the copy by it: the idempotency key.</remarks>
    public required string Id { get; init; }

    /// <summary>Gets the sequence number of the ledger entry that records the settlement: the export's cursor.</summary>
    public required long Sequence { get; init; }

    /// <summary>Gets when the settlement happened.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Gets when the reservation was admitted.</summary>
    public required DateTimeOffset AdmittedAt { get; init; }

    /// <summary>Gets the customer.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Gets the credit type of the wallet that paid.</summary>
    public required string CreditType { get; init; }

    /// <summary>Gets who acted inside the customer, as the request named it, or <see langword="null"/>.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the subject's path in the customer's subject tree at settlement (<c>org/team/user</c>), or <see langword="null"/>.</summary>
    public string? SubjectPath { get; init; }

    /// <summary>Gets the feature, or <see langword="null"/>.</summary>
    public string? Feature { get; init; }

    /// <summary>Gets the model the request named, or <see langword="null"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the model that answered, when it was another than <see cref="Model"/>; otherwise <see langword="null"/>.</summary>
    public string? AnsweredModel { get; init; }

    /// <summary>Gets the agent session or conversation, or <see langword="null"/>.</summary>
    public string? SessionId { get; init; }

    /// <summary>Gets the host's request id, or <see langword="null"/>.</summary>
    public string? RequestId { get; init; }

    /// <summary>Gets the reservation the settlement closed, or <see langword="null"/>.</summary>
    public long? ReservationId { get; init; }

    /// <summary>Gets the catalog version that priced or gated the request, or <see langword="null"/>.</summary>
    public string? CatalogVersion { get; init; }

    /// <summary>Gets the tokens by kind, or <see langword="null"/> for a settlement with an amount.</summary>
    public TokenUsage? Tokens { get; init; }

    /// <summary>Gets whether the tokens (and the charge) are an estimate: the provider reported no usage.</summary>
    public bool Estimated { get; init; }

    /// <summary>Gets the credits consumed: <see cref="Charged"/> plus <see cref="Overdrawn"/>.</summary>
    public CreditAmount Consumed => CreditAmount.FromUnits(checked(Charged.Units + Overdrawn.Units), Charged.Scale);

    /// <summary>Gets the credits taken from blocks (<see cref="Blocks"/> sum to it).</summary>
    public required CreditAmount Charged { get; init; }

    /// <summary>Gets the credits taken as debt.</summary>
    public required CreditAmount Overdrawn { get; init; }

    /// <summary>Gets the overrun recorded for billing but not charged.</summary>
    public required CreditAmount Overage { get; init; }

    /// <summary>Gets the overrun forgiven.</summary>
    public required CreditAmount Waived { get; init; }

    /// <summary>Gets the blocks that paid, in the order they paid (burn order).</summary>
    public required IReadOnlyList<BlockCharge> Blocks { get; init; }

    /// <summary>Gets what the charged credits were sold at (the blocks' cost basis), or <see langword="null"/> when no block that paid has one.</summary>
    public decimal? Price { get; init; }

    /// <summary>Gets what the model's vendor charges for the tokens, in <see cref="CostCurrency"/>, or <see langword="null"/>.</summary>
    public decimal? VendorCost { get; init; }

    /// <summary>Gets the currency of <see cref="VendorCost"/>, or <see langword="null"/>.</summary>
    public string? CostCurrency { get; init; }

    /// <summary>
    /// The most bytes the event's text fields can take written out: <paramref name="bytesPerCharacter"/> for each character at most, and
    /// <paramref name="bytesPerField"/> more for each field present (its quotes). The JSON and CSV writers size their one span with it.
    /// </summary>
    internal long MaxTextBytes(int bytesPerCharacter, int bytesPerField)
    {
        long characters = 0;
        int fields = 0;
        foreach (string? text in (ReadOnlySpan<string?>)[Id, CustomerId, CreditType, Subject, SubjectPath, Feature, Model, AnsweredModel, SessionId, RequestId, CatalogVersion, CostCurrency])
        {
            if (text is not null)
            {
                characters += text.Length;
                fields++;
            }
        }

        return (characters * bytesPerCharacter) + ((long)fields * bytesPerField);
    }
}
