namespace UsageGuard;

/// <summary>How a reservation priced from tokens is settled: the tokens used, the model that answered, and whether the tokens are an estimate.</summary>
/// <remarks>
/// A model call may be answered by another model id than the one requested (a dated snapshot such as <c>gpt-4o-2024-08-06</c>
/// for <c>gpt-4o</c>, or a router's choice). With <see cref="Model"/> set, the tokens are priced with the rate that model resolves
/// to in the reservation's catalog version, when it is an untiered rate in the same credit type; otherwise with the reservation's
/// own rate (docs/reservations.md). Ledger entries keep the requested model, which budgets matched.
/// </remarks>
/// <param name="Usage">The tokens used; every count zero or more.</param>
public readonly record struct TokenSettlement(TokenUsage Usage)
{
    /// <summary>Gets the model that answered, or <see langword="null"/> to price with the reservation's rate.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// Gets whether <see cref="Usage"/> is an estimate (the provider reported no usage, or the call was cut off): the ledger
    /// entries of the settlement carry the reason <see cref="EstimatedReason"/>, so the charge can be told from a measured one.
    /// </summary>
    public bool Estimated { get; init; }

    /// <summary>The <see cref="LedgerEntry.Reason"/> of the entries of a settlement made from an estimate.</summary>
    public const string EstimatedReason = "estimated";
}
