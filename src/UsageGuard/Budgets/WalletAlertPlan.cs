using System.Globalization;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>One entry of <see cref="WalletAlertOptions"/>, validated and converted to units of its credit type.</summary>
internal sealed class WalletAlertPlan
{
    /// <summary>The most thresholds one wallet may have, as for a budget limit.</summary>
    internal const int MaxThresholds = 32;

    private WalletAlertPlan(string? customerId, CreditType type, WalletAlertThreshold[] thresholds)
    {
        CustomerId = customerId;
        Type = type;
        Thresholds = thresholds;
    }

    /// <summary>Gets the customer, or null for the default of every customer without an entry of its own.</summary>
    internal string? CustomerId { get; }

    internal CreditType Type { get; }

    /// <summary>Gets the thresholds in the order listed.</summary>
    internal WalletAlertThreshold[] Thresholds { get; }

    /// <summary>Validates every entry and compiles them; throws <see cref="OptionsValidationException"/> naming every problem, so nothing is applied.</summary>
    /// <param name="options">The options.</param>
    /// <param name="types">The configured credit types by code.</param>
    /// <param name="defaultType">The code of the default credit type.</param>
    /// <param name="maxIdLength">The longest identifier accepted.</param>
    internal static IReadOnlyList<WalletAlertPlan> Compile(WalletAlertOptions options, IReadOnlyDictionary<string, CreditType> types, string defaultType, int maxIdLength)
    {
        var errors = new List<string>();
        var plans = new List<WalletAlertPlan>(options.Wallets.Count);
        var seen = new HashSet<(string?, string)>();
        for (int i = 0; i < options.Wallets.Count; i++)
        {
            LowBalanceAlertOptions? wallet = options.Wallets[i];
            if (wallet is null)
            {
                errors.Add($"WalletAlerts:Wallets[{i}] is null.");
                continue;
            }

            string code = wallet.CreditType ?? defaultType;
            string path = $"WalletAlerts:Wallets[{i}] ({wallet.CustomerId ?? "every customer"}/{code})";
            int before = errors.Count;
            if (wallet.CustomerId is { } customer)
            {
                if (string.IsNullOrWhiteSpace(customer))
                {
                    errors.Add($"{path}: CustomerId is empty; leave it null to watch every customer's wallet.");
                }
                else if (customer.Length > maxIdLength)
                {
                    errors.Add($"{path}: CustomerId is longer than UsageGuardOptions.MaxIdLength ({maxIdLength}).");
                }
            }

            if (!types.TryGetValue(code, out CreditType? type))
            {
                errors.Add($"{path}: the credit type '{code}' is not configured (configured: {string.Join(", ", types.Keys.Order(StringComparer.Ordinal))}).");
                continue;
            }

            if (!seen.Add((wallet.CustomerId, code)))
            {
                errors.Add(wallet.CustomerId is null
                    ? $"{path}: the default for every customer is listed twice for this credit type."
                    : $"{path}: the wallet is listed twice.");
            }

            WalletAlertThreshold[] thresholds = CompileThresholds(wallet.AlertAt, type, path, errors);
            if (errors.Count == before)
            {
                plans.Add(new WalletAlertPlan(wallet.CustomerId, type, thresholds));
            }
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(WalletAlertOptions), typeof(WalletAlertOptions), errors);
        }

        return plans;
    }

    private static WalletAlertThreshold[] CompileThresholds(IList<string> alertAt, CreditType type, string path, List<string> errors)
    {
        if (alertAt.Count == 0)
        {
            errors.Add($"{path}: AlertAt lists no threshold; add one, such as '20%' or '500'.");
            return [];
        }

        if (alertAt.Count > MaxThresholds)
        {
            errors.Add($"{path}: AlertAt lists {alertAt.Count} thresholds; at most {MaxThresholds}.");
            return [];
        }

        var thresholds = new List<WalletAlertThreshold>(alertAt.Count);
        for (int j = 0; j < alertAt.Count; j++)
        {
            string at = $"{path}: AlertAt[{j}]";
            if (Parse(alertAt[j], type, at, errors) is not { } threshold)
            {
                continue;
            }

            foreach (WalletAlertThreshold earlier in thresholds)
            {
                if (earlier.IsPercent == threshold.IsPercent && earlier.Value == threshold.Value)
                {
                    errors.Add($"{at} '{threshold.Label}' repeats '{earlier.Label}'; list each threshold once.");
                    break;
                }
            }

            thresholds.Add(threshold);
        }

        return [.. thresholds];
    }

    private static WalletAlertThreshold? Parse(string? text, CreditType type, string at, List<string> errors)
    {
        string? t = text?.Trim();
        if (string.IsNullOrEmpty(t))
        {
            errors.Add($"{at} is empty; a threshold is a percent such as '20%' or an amount such as '500'.");
            return null;
        }

        const NumberStyles Styles = NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign;
        bool isPercent = t.EndsWith('%');
        ReadOnlySpan<char> number = isPercent ? t.AsSpan(0, t.Length - 1).Trim() : t.AsSpan();
        if (!decimal.TryParse(number, Styles, CultureInfo.InvariantCulture, out decimal value))
        {
            errors.Add($"{at} '{t}' is not a threshold: use a percent such as '20%' or an amount of {type.Code} such as '500'.");
            return null;
        }

        if (value <= 0)
        {
            errors.Add($"{at} '{t}' must be above zero.");
            return null;
        }

        if (isPercent)
        {
            if (value > 100)
            {
                errors.Add($"{at} '{t}' is above 100%: the balance can never exceed the credits in force, so the alert would always be raised.");
                return null;
            }

            decimal millionths = value * (WalletAlertThreshold.Millionths / 100);
            if (millionths != decimal.Truncate(millionths))
            {
                errors.Add($"{at} '{t}' has more than 4 decimal places.");
                return null;
            }

            return WalletAlertThreshold.Percent(t, (long)millionths);
        }

        try
        {
            return WalletAlertThreshold.Absolute(t, FixedPoint.ToUnits(value, type.Scale, "AlertAt"));
        }
        catch (ArgumentException)
        {
            errors.Add($"{at} '{t}' has more decimal places than {type.Code} has ({type.Scale}).");
            return null;
        }
        catch (OverflowException)
        {
            errors.Add($"{at} '{t}' is too large: it does not fit in a 64-bit count of {type.Code} units at scale {type.Scale}.");
            return null;
        }
    }
}
