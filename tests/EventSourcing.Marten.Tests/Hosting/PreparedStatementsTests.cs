using EventSourcing.Marten.Hosting;
using Npgsql;

namespace EventSourcing.Marten.Tests.Hosting;

public sealed class PreparedStatementsTests
{
    [Fact]
    public void A_connection_string_without_a_choice_gets_automatic_preparation()
    {
        var tuned = new NpgsqlConnectionStringBuilder(MartenConventions.WithConnectionDefaults("Host=db;Username=app;Database=shop;Timeout=5"));

        Assert.Equal(50, tuned.MaxAutoPrepare);
        Assert.Equal(2, tuned.AutoPrepareMinUsages);
        Assert.Equal("db", tuned.Host);
        Assert.Equal("shop", tuned.Database);
        Assert.Equal(5, tuned.Timeout);
    }

    [Theory]
    [InlineData("Host=db;Database=shop;Timeout=9;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;Database=shop;Timeout=9;MaxAutoPrepare=7", 7)]
    [InlineData("Host=db;Database=shop;timeout=9;max auto prepare=12", 12)]
    public void A_connection_string_that_chooses_keeps_its_choice(string connectionString, int expected)
    {
        var kept = MartenConventions.WithConnectionDefaults(connectionString);

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(kept).MaxAutoPrepare);
        Assert.Equal(9, new NpgsqlConnectionStringBuilder(kept).Timeout);
    }

    [Fact]
    public void A_connection_string_that_chooses_preparation_only_still_gets_the_connect_timeout()
    {
        var tuned = new NpgsqlConnectionStringBuilder(MartenConventions.WithConnectionDefaults("Host=db;Max Auto Prepare=0"));

        Assert.Equal(0, tuned.MaxAutoPrepare);
        Assert.Equal(MartenConventions.ConnectTimeoutSeconds, tuned.Timeout);
    }

    [Fact]
    public void A_connection_string_without_a_choice_gets_no_session_reset_on_close()
    {
        var tuned = new NpgsqlConnectionStringBuilder(MartenConventions.WithConnectionDefaults("Host=db;Username=app;Database=shop"));

        Assert.True(tuned.NoResetOnClose);
    }

    [Theory]
    [InlineData("Host=db;No Reset On Close=false", false)]
    [InlineData("Host=db;NoResetOnClose=False", false)]
    [InlineData("Host=db;no reset on close=true", true)]
    public void A_connection_string_that_chooses_the_session_reset_keeps_its_choice(string connectionString, bool expected)
    {
        var tuned = new NpgsqlConnectionStringBuilder(MartenConventions.WithConnectionDefaults(connectionString));

        Assert.Equal(expected, tuned.NoResetOnClose);
        Assert.Equal(50, tuned.MaxAutoPrepare);
    }

    [Fact]
    public void A_connection_string_that_chooses_everything_is_kept_as_written()
    {
        const string connectionString = "Host=db;Timeout=9;Max Auto Prepare=0;No Reset On Close=false";

        Assert.Equal(connectionString, MartenConventions.WithConnectionDefaults(connectionString));
    }
}
