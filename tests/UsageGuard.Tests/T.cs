namespace UsageGuard.Tests; public class T { [NUnit.Framework.Test] public void A() {} }
