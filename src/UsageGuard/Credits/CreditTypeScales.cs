namespace UsageGuard;

/// <summary>The configured credit types' scales by code, as catalog validation needs them.</summary>
internal static class CreditTypeScales
{
    /// <summary>Maps the declared credit types to their scales; with none declared, the default credit type at the default scale, as the guard does.</summary>
    internal static IReadOnlyDictionary<string, int> From(UsageGuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IList<CreditTypeOptions> declared = options.CreditTypes.Count > 0
            ? options.CreditTypes
            : [new CreditTypeOptions { Code = options.DefaultCreditType }];
        var scales = new Dictionary<string, int>(declared.Count, StringComparer.Ordinal);
        foreach (CreditTypeOptions? type in declared)
        {
            // Null entries and duplicate codes are the options validator's to report; mapping them must not throw first.
            if (type is not null)
            {
                scales.TryAdd(type.Code, type.Scale);
            }
        }

        return scales;
    }
}
