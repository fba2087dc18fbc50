namespace UsageGuard; internal static class Placeholder {}
