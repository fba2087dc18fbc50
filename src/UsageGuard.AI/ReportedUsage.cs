using Microsoft.Extensions.AI;

namespace UsageGuard.AI;

/// <summary>
/// The usage a provider reported for one call, as providers count it: cached input inside input, reasoning inside output. A count
/// nobody reported stays null. Shared by the chat client and the HTTP handler, so both settle by the same rules.
/// </summary>
internal readonly record struct ReportedUsage(long? Input, long? Cached, long? Output, long? Reasoning)
{
    /// <summary>Gets whether any count was reported.</summary>
    internal bool Any => Input is not null || Cached is not null || Output is not null || Reasoning is not null;

    /// <summary>Adds one usage update (streams may report usage in several).</summary>
    internal ReportedUsage Add(UsageDetails? details) => details is null ? this : new(
        Sum(Input, details.InputTokenCount), Sum(Cached, details.CachedInputTokenCount), Sum(Output, details.OutputTokenCount), Sum(Reasoning, details.ReasoningTokenCount));

    /// <summary>
    /// Converts to UsageGuard's four disjoint classes: the subsets are subtracted from their totals (and clamped to them, so nothing is
    /// priced twice); a total nobody reported is estimated.
    /// </summary>
    internal TokenUsage ToTokens(long inputEstimate, long outputEstimate)
    {
        long input = Input ?? inputEstimate;
        long output = Output ?? outputEstimate;
        long cached = Math.Clamp(Cached ?? 0, 0, Math.Max(0, input));
        long reasoning = Math.Clamp(Reasoning ?? 0, 0, Math.Max(0, output));
        return new TokenUsage(Math.Max(0, input - cached), cached, Math.Max(0, output - reasoning), reasoning);
    }

    /// <summary>
    /// What a call settles: the reported usage, or without it the estimate (input estimate plus the output text's estimate), marked
    /// estimated; a call cut before any output is still charged its input, never zero.
    /// </summary>
    internal TokenSettlement Settle(long inputEstimate, long outputEstimate, bool cut, string? model)
    {
        TokenUsage tokens;
        bool estimated;
        if (Input is null && Output is null)
        {
            tokens = new TokenUsage(inputEstimate, 0, outputEstimate, 0);
            estimated = true;
        }
        else
        {
            tokens = ToTokens(inputEstimate, outputEstimate);
            estimated = Input is null || Output is null;
        }

        if (cut && tokens.TotalTokens == 0)
        {
            // A call cut before any output still sent its input.
            tokens = tokens with { InputTokens = inputEstimate };
            estimated = true;
        }

        return new TokenSettlement(tokens) { Model = model, Estimated = estimated };
    }

    private static long? Sum(long? a, long? b) => a is null ? b : b is null ? a : checked(a.Value + b.Value);
}
