namespace UsageGuard;

/// <summary>Credits one block paid toward a settlement.</summary>
/// <param name="BlockId">The block.</param>
/// <param name="Amount">The credits it paid; positive.</param>
public readonly record struct BlockCharge(Guid BlockId, CreditAmount Amount);
