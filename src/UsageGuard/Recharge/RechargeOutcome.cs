namespace UsageGuard;

/// <summary>What an <see cref="IRechargeHandler"/> reports: the payment was taken (with its reference), or it was not (with why).</summary>
public sealed class RechargeOutcome
{
    private RechargeOutcome(bool isSuccess, string? paymentReference, string? failureReason)
    {
        IsSuccess = isSuccess;
        PaymentReference = paymentReference;
        FailureReason = failureReason;
    }

    /// <summary>Gets a value indicating whether the payment was taken; only then are the credits granted.</summary>
    public bool IsSuccess { get; }

    /// <summary>Gets the payment's reference (recorded on the granted block), or <see langword="null"/> when it failed.</summary>
    public string? PaymentReference { get; }

    /// <summary>Gets why the payment was not taken, or <see langword="null"/> when it was.</summary>
    public string? FailureReason { get; }

    /// <summary>Reports a payment that was taken: the credits are granted, with the reference in the block's metadata.</summary>
    /// <param name="paymentReference">The payment's reference in the payment system; not empty.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="ArgumentException"><paramref name="paymentReference"/> is null, empty or white space.</exception>
    public static RechargeOutcome Succeeded(string paymentReference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(paymentReference);
        return new RechargeOutcome(true, paymentReference, null);
    }

    /// <summary>Reports a payment that was not taken (declined, unavailable): nothing is granted, and the guard tries again after a back-off.</summary>
    /// <param name="reason">Why, for the log; not empty.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is null, empty or white space.</exception>
    public static RechargeOutcome Failed(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new RechargeOutcome(false, null, reason);
    }

    /// <inheritdoc />
    public override string ToString() => IsSuccess ? $"succeeded ({PaymentReference})" : $"failed ({FailureReason})";
}
