namespace UsageGuard;

/// <summary>One row of a spend query: what the settlements of one group consumed, and what that was sold at and cost.</summary>
/// <remarks>
/// A dimension the query did not group by is <see langword="null"/>; so is <see cref="Subject"/> for events without a subject.
/// <see cref="Price"/> and <see cref="VendorCost"/> are at 10 decimal places, summed exactly; each is <see langword="null"/> when no
/// settlement of the group had one. They are assumed to be in one currency (the blocks' cost basis and the rates' vendor costs).
/// </remarks>
public sealed record SpendRow
{
    /// <summary>Gets the customer, when grouped by customer.</summary>
    public string? CustomerId { get; init; }

    /// <summary>Gets the credit type of the amounts.</summary>
    public required string CreditType { get; init; }

    /// <summary>Gets the subject node's path (<c>org/eng</c>), when grouped by subject; <see langword="null"/> for events without one.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the model, when grouped by model.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the feature, when grouped by feature.</summary>
    public string? Feature { get; init; }

    /// <summary>Gets the UTC day, when grouped by day.</summary>
    public DateOnly? Day { get; init; }

    /// <summary>Gets the number of settlements.</summary>
    public required long Requests { get; init; }

    /// <summary>Gets the credits consumed (charged to blocks, or taken as debt).</summary>
    public required CreditAmount Consumed { get; init; }

    /// <summary>Gets the overrun recorded for billing but not charged.</summary>
    public required CreditAmount Overage { get; init; }

    /// <summary>Gets the tokens of all kinds.</summary>
    public required long Tokens { get; init; }

    /// <summary>Gets what the consumed credits were sold at (the blocks' cost basis), or <see langword="null"/>.</summary>
    public decimal? Price { get; init; }

    /// <summary>Gets what the vendor charged for the tokens, or <see langword="null"/>.</summary>
    public decimal? VendorCost { get; init; }

    /// <summary>Gets <see cref="Price"/> less <see cref="VendorCost"/>, when both are known.</summary>
    public decimal? Margin => Price is { } price && VendorCost is { } cost ? price - cost : null;
}
