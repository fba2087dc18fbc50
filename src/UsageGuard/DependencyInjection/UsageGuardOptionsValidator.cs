using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace UsageGuard;

/// <summary>Validates <see cref="UsageGuardOptions"/>: data annotations on the options and each credit type, plus the rules between them.</summary>
internal sealed class UsageGuardOptionsValidator : IValidateOptions<UsageGuardOptions>
{
    public ValidateOptionsResult Validate(string? name, UsageGuardOptions options)
    {
        var failures = new List<string>();
        Annotate(options, "UsageGuard", failures);
        var codes = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.CreditTypes.Count; i++)
        {
            CreditTypeOptions type = options.CreditTypes[i];
            if (type is null)
            {
                failures.Add($"UsageGuard:CreditTypes[{i}] is null.");
                continue;
            }

            Annotate(type, $"UsageGuard:CreditTypes[{i}]", failures);
            if (!codes.Add(type.Code))
            {
                failures.Add($"UsageGuard:CreditTypes[{i}]: the code '{type.Code}' is declared twice.");
            }

            if (type.Scale is >= 0 and <= FixedPoint.MaxScale)
            {
                try
                {
                    FixedPoint.ToUnits(type.OverdraftLimit, type.Scale, nameof(type.OverdraftLimit));
                }
                catch (Exception ex) when (ex is ArgumentException or OverflowException)
                {
                    failures.Add($"UsageGuard:CreditTypes[{i}].OverdraftLimit: {ex.Message}");
                }
            }
        }

        if (options.CreditTypes.Count > 0 && !codes.Contains(options.DefaultCreditType))
        {
            failures.Add($"UsageGuard:DefaultCreditType '{options.DefaultCreditType}' is not one of the declared credit types.");
        }

        if (options.DefaultReservationTtl > options.MaxReservationTtl)
        {
            failures.Add("UsageGuard:DefaultReservationTtl is longer than MaxReservationTtl.");
        }

        Defined(options.StoreFailurePolicy, "StoreFailurePolicy", failures);
        Defined(options.SettlementDurability, "SettlementDurability", failures);
        Defined(options.GrantDurability, "GrantDurability", failures);
        Defined(options.DefaultOverrunPolicy, "DefaultOverrunPolicy", failures);

        if (options.MaxBatchSize > options.LedgerQueueCapacity)
        {
            failures.Add("UsageGuard:MaxBatchSize is larger than LedgerQueueCapacity.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Defined<T>(T value, string name, List<string> failures)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            failures.Add($"UsageGuard:{name} '{value}' is not a defined {typeof(T).Name}.");
        }
    }

    private static void Annotate(object instance, string path, List<string> failures)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true))
        {
            foreach (ValidationResult result in results)
            {
                failures.Add($"{path}.{string.Join(",", result.MemberNames)}: {result.ErrorMessage}");
            }
        }
    }
}
