namespace UsageGuard;

/// <summary>Configures auto-recharge: which wallets are recharged and how. Read once, when the guard starts.</summary>
/// <remarks>Register with <see cref="RechargeBuilderExtensions.UseAutoRecharge"/> and a handler with <see cref="RechargeBuilderExtensions.AddRechargeHandler{THandler}"/>.</remarks>
public sealed class RechargeOptions
{
    /// <summary>Gets the wallets to recharge; at most one entry per customer and credit type.</summary>
    /// <value>The default value is an empty list: no wallet is recharged.</value>
    public IList<AutoRechargeOptions> Wallets { get; } = new List<AutoRechargeOptions>();
}
