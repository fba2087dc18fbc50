namespace UsageGuard;

/// <summary>What kind of value a credit block carries; part of the burn order.</summary>
/// <remarks>The numeric order is the burn order's category rank: promotional credits burn before bundled, bundled before paid.</remarks>
public enum CreditCategory
{
    /// <summary>Given away (a trial, a goodwill gesture); burns first.</summary>
    Promotional = 0,

    /// <summary>Included in a plan's allowance.</summary>
    Bundled = 1,

    /// <summary>Bought by the customer.</summary>
    Paid = 2,

    /// <summary>Granted against future payment; burns last.</summary>
    Overdraft = 3,
}
