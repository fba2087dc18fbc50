using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>One wallet's <see cref="AutoRechargeOptions"/>, validated and converted to units of its credit type.</summary>
internal sealed class RechargePlan
{
    /// <summary>The length of a recharge id: 32 hexadecimal digits (128 bits of a SHA-256).</summary>
    internal const int RechargeIdLength = 32;

    private RechargePlan(AutoRechargeOptions options, CreditType type)
    {
        CustomerId = options.CustomerId;
        Type = type;
        ThresholdUnits = FixedPoint.ToUnits(options.Threshold, type.Scale, nameof(options.Threshold));
        AmountUnits = options.Amount is { } amount ? FixedPoint.ToUnits(amount, type.Scale, nameof(options.Amount)) : null;
        TargetUnits = options.TargetBalance is { } target ? FixedPoint.ToUnits(target, type.Scale, nameof(options.TargetBalance)) : null;
        MinimumUnits = options.MinimumAmount is { } minimum ? FixedPoint.ToUnits(minimum, type.Scale, nameof(options.MinimumAmount)) : 0;
        CapUnits = options.MonthlyCap is { } cap ? FixedPoint.ToUnits(cap, type.Scale, nameof(options.MonthlyCap)) : null;
        Cooldown = options.Cooldown;
        RetryBackoff = options.RetryBackoff;
        MaxRetryBackoff = options.MaxRetryBackoff;
        Category = options.Category;
        Priority = options.Priority;
        ExpiresAfter = options.ExpiresAfter;
        CostBasis = options.CostBasis;
    }

    internal string CustomerId { get; }

    internal CreditType Type { get; }

    internal long ThresholdUnits { get; }

    /// <summary>Gets the fixed amount of each recharge, or null to top up to <see cref="TargetUnits"/>.</summary>
    internal long? AmountUnits { get; }

    internal long? TargetUnits { get; }

    internal long MinimumUnits { get; }

    internal long? CapUnits { get; }

    internal TimeSpan Cooldown { get; }

    internal TimeSpan RetryBackoff { get; }

    internal TimeSpan MaxRetryBackoff { get; }

    internal CreditCategory Category { get; }

    internal int Priority { get; }

    internal TimeSpan? ExpiresAfter { get; }

    internal decimal? CostBasis { get; }

    /// <summary>Gets the wait after <paramref name="failures"/> failures in a row: the initial back-off, doubled for each further failure, at most the maximum.</summary>
    internal TimeSpan BackoffAfter(int failures)
    {
        long ticks = RetryBackoff.Ticks;
        for (int i = 1; i < failures && ticks < MaxRetryBackoff.Ticks; i++)
        {
            ticks *= 2;
        }

        return TimeSpan.FromTicks(Math.Min(ticks, MaxRetryBackoff.Ticks));
    }

    /// <summary>Validates every wallet's options and compiles them; throws <see cref="OptionsValidationException"/> naming every problem.</summary>
    /// <param name="options">The options.</param>
    /// <param name="types">The configured credit types by code.</param>
    /// <param name="defaultType">The code of the default credit type.</param>
    /// <param name="maxIdLength">The longest identifier accepted (the grants' idempotency keys must fit).</param>
    /// <param name="hasHandler">Whether a handler is registered.</param>
    internal static IReadOnlyList<RechargePlan> Compile(RechargeOptions options, IReadOnlyDictionary<string, CreditType> types, string defaultType, int maxIdLength, bool hasHandler)
    {
        var errors = new List<string>();
        var plans = new List<RechargePlan>(options.Wallets.Count);
        var seen = new HashSet<(string, string)>();
        for (int i = 0; i < options.Wallets.Count; i++)
        {
            AutoRechargeOptions? wallet = options.Wallets[i];
            if (wallet is null)
            {
                errors.Add($"Recharge:Wallets[{i}] is null.");
                continue;
            }

            string path = $"Recharge:Wallets[{i}] ({wallet.CustomerId}/{wallet.CreditType ?? defaultType})";
            int before = errors.Count;
            if (string.IsNullOrWhiteSpace(wallet.CustomerId))
            {
                errors.Add($"Recharge:Wallets[{i}]: CustomerId is required.");
            }
            else if (wallet.CustomerId.Length > maxIdLength)
            {
                errors.Add($"{path}: CustomerId is longer than UsageGuardOptions.MaxIdLength ({maxIdLength}).");
            }

            string code = wallet.CreditType ?? defaultType;
            if (!types.TryGetValue(code, out CreditType? type))
            {
                errors.Add($"{path}: the credit type '{code}' is not configured.");
                continue;
            }

            if (!seen.Add((wallet.CustomerId, code)))
            {
                errors.Add($"{path}: the wallet is listed twice.");
            }

            if ((wallet.Amount is null) == (wallet.TargetBalance is null))
            {
                errors.Add($"{path}: set exactly one of Amount (a fixed recharge) and TargetBalance (a top-up).");
            }

            Check(wallet.Threshold >= 0, $"{path}: Threshold may not be negative ({wallet.Threshold}).", errors);
            Check(wallet.Amount is not { } a || a > 0, $"{path}: Amount must be positive ({wallet.Amount}).", errors);
            Check(wallet.TargetBalance is not { } t || t > wallet.Threshold, $"{path}: TargetBalance ({wallet.TargetBalance}) must be above Threshold ({wallet.Threshold}), or a top-up would leave the wallet below it.", errors);
            Check(wallet.MinimumAmount is not { } m || m > 0, $"{path}: MinimumAmount must be positive ({wallet.MinimumAmount}).", errors);
            Check(wallet.MonthlyCap is not { } c || c > 0, $"{path}: MonthlyCap must be positive ({wallet.MonthlyCap}).", errors);
            Check(wallet.Cooldown >= TimeSpan.Zero, $"{path}: Cooldown may not be negative ({wallet.Cooldown}).", errors);
            Check(wallet.RetryBackoff > TimeSpan.Zero, $"{path}: RetryBackoff must be positive ({wallet.RetryBackoff}).", errors);
            Check(wallet.MaxRetryBackoff >= wallet.RetryBackoff, $"{path}: MaxRetryBackoff ({wallet.MaxRetryBackoff}) is shorter than RetryBackoff ({wallet.RetryBackoff}).", errors);
            Check(wallet.ExpiresAfter is not { } e || e > TimeSpan.Zero, $"{path}: ExpiresAfter must be positive ({wallet.ExpiresAfter}).", errors);
            Check(wallet.CostBasis is not { } b || b >= 0, $"{path}: CostBasis may not be negative ({wallet.CostBasis}).", errors);
            Check(Enum.IsDefined(wallet.Category), $"{path}: Category '{wallet.Category}' is not a defined CreditCategory.", errors);
            if (errors.Count > before)
            {
                continue;
            }

            try
            {
                plans.Add(new RechargePlan(wallet, type));
            }
            catch (Exception ex) when (ex is ArgumentException or OverflowException)
            {
                errors.Add($"{path}: {ex.Message}");
            }
        }

        if (plans.Count > 0 && !hasHandler)
        {
            errors.Add("Recharge: wallets are listed but no IRechargeHandler is registered; add one with AddRechargeHandler<T>().");
        }

        int keyLength = RechargeMetadata.IdempotencyKeyPrefix.Length + RechargeIdLength;
        if (plans.Count > 0 && maxIdLength < Math.Max(keyLength, RechargeMetadata.PaymentReference.Length))
        {
            errors.Add($"Recharge: UsageGuardOptions.MaxIdLength ({maxIdLength}) is shorter than a recharge grant's idempotency key ({keyLength} characters).");
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(RechargeOptions), typeof(RechargeOptions), errors);
        }

        return plans;
    }

    private static void Check(bool condition, string error, List<string> errors)
    {
        if (!condition)
        {
            errors.Add(error);
        }
    }
}
