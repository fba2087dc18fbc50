using System.Collections;
using System.Globalization;
using System.Reflection;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Catalog.Sources;

[TestFixture]
public sealed class CatalogDocumentTests
{
    /// <summary>One case per public property of <see cref="CatalogOptions"/>, so a property added later is a new case that fails until it is copied.</summary>
    public static IEnumerable<string> CatalogProperties() =>
        typeof(CatalogOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name);

    [TestCaseSource(nameof(CatalogProperties))]
    public void Overwrite_EveryPublicPropertyOfTheCatalog_IsCopied(string name)
    {
        PropertyInfo property = typeof(CatalogOptions).GetProperty(name)!;
        var document = new CatalogOptions();
        SetToNonDefault(document, property);
        string expected = RemoteDocuments.Json(document);
        expected.Should().NotBe(RemoteDocuments.Json(new CatalogOptions()), $"{name} must show in the catalog's JSON form, which is how sources exchange and persist catalogs");

        var blank = new CatalogOptions();
        CatalogDocument.Overwrite(blank, document);
        CatalogOptions configured = DocumentedCatalog.FromConfiguration();
        CatalogDocument.Overwrite(configured, document);

        RemoteDocuments.Json(blank).Should().Be(expected, $"CatalogDocument.Overwrite must copy {name}");
        RemoteDocuments.Json(configured).Should().Be(expected, $"CatalogDocument.Overwrite must replace {name} whole, leaving nothing of the configured catalog");
    }

    [Test]
    public void Overwrite_TheDocumentedCatalog_GivesAnEqualCatalog_ThatSharesNoObjectWithTheDocument()
    {
        CatalogOptions document = DocumentedCatalog.FromJson();
        string before = RemoteDocuments.Json(document);
        var target = new CatalogOptions();

        CatalogDocument.Overwrite(target, document);
        RemoteDocuments.Json(target).Should().Be(before);
        target.Features[0].Id = "changed";
        target.Plans[1].Entitlements.Clear();
        target.Overrides.Clear();

        RemoteDocuments.Json(document).Should().Be(before, "whatever configures the options later must not change the source's document");
    }

    /// <summary>Gives a property a value other than its default, by its type; an unknown shape fails, asking for this method to be extended.</summary>
    private static void SetToNonDefault(object owner, PropertyInfo property)
    {
        object? current = property.GetValue(owner);
        if (property.SetMethod is { IsPublic: true })
        {
            property.SetValue(owner, NonDefault(property.PropertyType, current));
            return;
        }

        switch (current)
        {
            case IDictionary dictionary:
                Type[] pair = GenericArguments(dictionary.GetType(), typeof(IDictionary<,>));
                dictionary.Add(NonDefault(pair[0], null), NonDefault(pair[1], null));
                return;
            case IList list:
                list.Add(NonDefault(GenericArguments(list.GetType(), typeof(IList<>))[0], null));
                return;
            default:
                Assert.Fail($"CatalogOptions.{property.Name} is read-only and of type {property.PropertyType}, which this test cannot give a value; extend {nameof(SetToNonDefault)}.");
                return;
        }
    }

    private static object NonDefault(Type declared, object? current)
    {
        Type type = Nullable.GetUnderlyingType(declared) ?? declared;
        if (type == typeof(string))
        {
            return "sample";
        }

        if (type.IsEnum)
        {
            return Enum.GetValues(type).Cast<object>().First(v => !v.Equals(current));
        }

        if (type == typeof(bool))
        {
            return current is not true;
        }

        if (type.IsPrimitive || type == typeof(decimal))
        {
            return Convert.ChangeType(7, type, CultureInfo.InvariantCulture);
        }

        if (type == typeof(TimeSpan))
        {
            return TimeSpan.FromMinutes(7);
        }

        if (type == typeof(DateTimeOffset))
        {
            return new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);
        }

        if (type == typeof(DateTime))
        {
            return new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        }

        if (!type.IsAbstract && type.GetConstructor(Type.EmptyTypes) is not null)
        {
            return Activator.CreateInstance(type)!;
        }

        Assert.Fail($"This test cannot make a value of {type}; extend {nameof(NonDefault)}.");
        return null!;
    }

    private static Type[] GenericArguments(Type type, Type openInterface) =>
        type.GetInterfaces().Append(type).First(i => i.IsGenericType && i.GetGenericTypeDefinition() == openInterface).GetGenericArguments();
}
