using System.ComponentModel.DataAnnotations;

namespace UsageGuard;

/// <summary>Declares one credit type: a non-interchangeable unit such as <c>usd</c> or <c>credits</c>.</summary>
public sealed class CreditTypeOptions
{
    /// <summary>Gets or sets the code, for example <c>usd</c>; compared ordinally.</summary>
    /// <value>The default value is an empty string, which fails validation.</value>
    [Required]
    public string Code { get; set; } = string.Empty;

    /// <summary>Gets or sets the number of decimal places one unit stands for.</summary>
    /// <value>The default value is 6.</value>
    [Range(0, 18)]
    public int Scale { get; set; } = UsageGuardDefaults.CreditScale;

    /// <summary>Gets or sets how far a wallet may go below zero when a settlement above its hold uses <see cref="SettlementPolicy.Overdraft"/>.</summary>
    /// <value>The default value is 0: no overdraft.</value>
    [Range(typeof(decimal), "0", "79228162514264337593543950335")]
    public decimal OverdraftLimit { get; set; }

    /// <summary>Gets or sets the burn order for this credit type's blocks.</summary>
    /// <value>The default value is <see cref="UsageGuard.BurnOrder.Default"/>.</value>
    public BurnOrder BurnOrder { get; set; } = BurnOrder.Default;
}
