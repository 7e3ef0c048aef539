using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Reservations.Security;

namespace Reservations.Tests.Security;

/// <summary>Who a request comes from (<see cref="Clients.Scope"/>), and how that scopes its Idempotency-Key.</summary>
public sealed class ClientScopeTests
{
    [Fact]
    public void An_authenticated_principal_is_one_client_wherever_it_connects_from()
    {
        var home = Request("203.0.113.7", user: "ada", key: "k-1");
        var work = Request("198.51.100.20", user: "ada", key: "k-1");
        var grace = Request("203.0.113.7", user: "grace", key: "k-1");

        Assert.Equal("user:ada", Clients.Scope(home));
        Assert.Equal(Clients.Scope(home), Clients.Scope(work));
        Assert.Equal(Requests.CommandId(home), Requests.CommandId(work));
        Assert.NotEqual(Requests.CommandId(home), Requests.CommandId(grace));
    }

    [Fact]
    public void An_anonymous_client_is_its_remote_address_and_a_name_without_authentication_does_not_count()
    {
        var named = Request("203.0.113.7", key: "k-1");
        named.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "ada")])); // no authentication type: not authenticated

        Assert.Equal("ip:203.0.113.7", Clients.Scope(named));
        Assert.Equal("ip:203.0.113.7", Clients.Scope(Request("::ffff:203.0.113.7")));
        Assert.Equal("ip:2001:db8::1", Clients.Scope(Request("2001:db8::1")));
        Assert.Equal(Clients.Unknown, Clients.Scope(Request(address: null)));
    }

    [Fact]
    public void One_key_is_one_command_per_client_and_another_command_for_another_client()
    {
        var first = Requests.CommandId(Request("203.0.113.7", key: "order-1"));

        Assert.Equal(first, Requests.CommandId(Request("203.0.113.7", key: "order-1")));
        Assert.Equal(first, Requests.CommandId(Request("::ffff:203.0.113.7", key: "order-1")));
        Assert.NotEqual(first, Requests.CommandId(Request("203.0.113.8", key: "order-1")));
        Assert.NotEqual(first, Requests.CommandId(Request("203.0.113.7", key: "order-2")));
        Assert.NotEqual(first, Requests.CommandId(Request(address: null, key: "order-1")));
        Assert.Equal(Guid.Empty, Requests.CommandId(Request("203.0.113.7")));
        var fromAGuidKey = Requests.CommandId(Request("203.0.113.7", key: first.ToString()));
        Assert.NotEqual(first, fromAGuidKey); // a uuid key is no command id by itself: it names another client's command as little as any key
        Assert.Equal(8, first.Version); // an RFC 9562 custom (v8) uuid
    }

    private static DefaultHttpContext Request(string? address, string? user = null, string? key = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = address is null ? null : IPAddress.Parse(address);
        if (user is not null)
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], authenticationType: "test"));
        }

        if (key is not null)
        {
            context.Request.Headers[Requests.IdempotencyKeyHeader] = key;
        }

        return context;
    }
}
