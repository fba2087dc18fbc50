namespace UsageGuard;

/// <summary>When a call that writes to the ledger completes.</summary>
public enum Durability
{
    /// <summary>After the batch holding its entries has been committed to the store.</summary>
    Durable = 0,

    /// <summary>At once; the entries are committed shortly after. A crash may lose what was still queued.</summary>
    WriteBehind = 1,
}
