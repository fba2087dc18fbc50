namespace UsageGuard;

/// <summary>Lock-free operations on a shared <see cref="long"/> counter.</summary>
internal static class Counter
{
    /// <summary>Takes <paramref name="units"/> from <paramref name="counter"/> with a CAS, only when it holds at least that many.</summary>
    /// <returns>Whether the units were taken; when not, the counter is unchanged.</returns>
    internal static bool TryTake(ref long counter, long units)
    {
        long seen = Volatile.Read(ref counter);
        while (seen >= units)
        {
            long now = Interlocked.CompareExchange(ref counter, seen - units, seen);
            if (now == seen)
            {
                return true;
            }

            seen = now;
        }

        return false;
    }
}
