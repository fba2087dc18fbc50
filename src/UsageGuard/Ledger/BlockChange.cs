namespace UsageGuard;

/// <summary>A signed change to one block.</summary>
/// <param name="BlockId">The block.</param>
/// <param name="Amount">The signed change to its remaining balance.</param>
public readonly record struct BlockChange(Guid BlockId, CreditAmount Amount);
