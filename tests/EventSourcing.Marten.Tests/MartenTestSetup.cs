using System.Security.Cryptography;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using JasperFx;
using Marten;

namespace EventSourcing.Marten.Tests;

/// <summary>How the tests set up the Marten store: schema created at run time, a random master key per process.</summary>
internal static class MartenTestSetup
{
    public static readonly string MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static EventSourcingBuilder UseTestMarten(this EventSourcingBuilder builder, string connectionString, AutoCreate autoCreate = AutoCreate.CreateOrUpdate, Action<StoreOptions>? configure = null) =>
        builder
            .ConfigurePersonalData(options => options.MasterKey ??= MasterKey)
            .UseMarten(connectionString, marten =>
            {
                marten.AutoCreateSchemaObjects = autoCreate;
                configure?.Invoke(marten);
            });
}
