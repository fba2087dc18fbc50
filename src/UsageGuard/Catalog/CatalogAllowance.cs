namespace UsageGuard;

/// <summary>A validated recurring allowance, with its amounts in units of its credit type.</summary>
internal sealed record CatalogAllowance(
    string Id,
    string OwnerId,
    long AmountUnits,
    string CreditType,
    int Scale,
    int Priority,
    CreditCategory Category,
    AllowanceExpiry Expiry,
    TimeSpan? ExpiresAfter,
    long RolloverMinUnits,
    long? RolloverMaxUnits,
    bool PreserveOverage);
