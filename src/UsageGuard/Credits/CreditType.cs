namespace UsageGuard;

/// <summary>A validated, immutable credit type definition used by the engine.</summary>
internal sealed class CreditType
{
    internal CreditType(string code, int scale, long overdraftLimitUnits, BurnOrder burnOrder)
    {
        Code = code;
        Scale = scale;
        OverdraftLimitUnits = overdraftLimitUnits;
        BurnOrder = burnOrder;
    }

    internal string Code { get; }

    internal int Scale { get; }

    internal long OverdraftLimitUnits { get; }

    internal BurnOrder BurnOrder { get; }

    internal static CreditType From(CreditTypeOptions options) =>
        new(options.Code, options.Scale, FixedPoint.ToUnits(options.OverdraftLimit, options.Scale, nameof(options.OverdraftLimit)), options.BurnOrder ?? BurnOrder.Default);
}
