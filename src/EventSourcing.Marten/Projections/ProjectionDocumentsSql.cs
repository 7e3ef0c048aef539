using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Marten;
using Marten.Schema;

namespace EventSourcing.Marten.Projections;

/// <summary>
/// SQL on the tables of <see cref="ProjectionGenerations"/> and <see cref="GenerationCheckpoint"/> that Marten's document
/// API would take more statements for: a projection's generations and their checkpoints read in one statement, and a
/// checkpoint written only when it moves forward, without reading it first. The rows stay Marten's documents (the data
/// serialized by Marten's serializer, its metadata columns left to their defaults), readable by <c>LoadAsync</c>. Used
/// on plain document tables (one tenant, no partitioning, no hierarchy, hard deletes; for the checkpoint's write also no
/// version Marten checks); any other mapping, chosen in the store's configuration, goes through Marten's document API
/// (<see cref="CanRead"/>, <see cref="CanMoveCheckpoint"/>).
/// </summary>
internal sealed class ProjectionDocumentsSql
{
    private static readonly ConditionalWeakTable<IDocumentStore, ProjectionDocumentsSql> Cache = [];

    private ProjectionDocumentsSql(IDocumentStore store)
    {
        Serializer = store.Options.Serializer();
        var generations = (DocumentMapping)store.Options.FindOrResolveDocumentType(typeof(ProjectionGenerations));
        var checkpoints = (DocumentMapping)store.Options.FindOrResolveDocumentType(typeof(GenerationCheckpoint));
        CanRead = Readable(generations) && Readable(checkpoints);
        CanMoveCheckpoint = Readable(checkpoints) && !checkpoints.UseOptimisticConcurrency && !checkpoints.UseNumericRevisions && !checkpoints.Metadata.Revision.Enabled;

        // The JSON names Marten's serializer gives the fields the SQL looks at, whatever casing it was configured with.
        var serving = KeyOf(new ProjectionGenerations { Id = string.Empty, Serving = 420_001, Building = 420_002, NextGeneration = 420_003 }, 420_001);
        var building = KeyOf(new ProjectionGenerations { Id = string.Empty, Serving = 420_001, Building = 420_002, NextGeneration = 420_003 }, 420_002);
        var position = KeyOf(new GenerationCheckpoint { Id = string.Empty, Position = 420_004 }, 420_004);
        var generationsTable = generations.TableName.QualifiedName;
        var checkpointTable = checkpoints.TableName.QualifiedName;

        ReadState = $"""
            select jsonb_build_object('generations', g.data, 'serving', s.data, 'building', b.data)
            from (select 1) as one
            left join {generationsTable} as g on g.id = ?
            left join {checkpointTable} as s on s.id = ? || '/' || coalesce((g.data ->> '{serving}')::int, 1)
            left join {checkpointTable} as b on b.id = ? || '/' || (g.data ->> '{building}')
            """;

        // Inserted, or moved forward only: a checkpoint never goes back, whichever node or transaction writes it.
        var insertColumns = checkpoints.Metadata.DotNetType.Enabled ? "id, data, mt_dotnet_type" : "id, data";
        var insertValues = checkpoints.Metadata.DotNetType.Enabled ? "?, ?::jsonb, ?" : "?, ?::jsonb";
        var updates = new List<string> { "data = excluded.data" };
        if (checkpoints.Metadata.Version.Enabled)
        {
            updates.Add("mt_version = excluded.mt_version");
        }

        if (checkpoints.Metadata.LastModified.Enabled)
        {
            updates.Add("mt_last_modified = excluded.mt_last_modified");
        }

        WithDotNetType = checkpoints.Metadata.DotNetType.Enabled;
        MoveCheckpoint = $"""
            insert into {checkpointTable} as c ({insertColumns}) values ({insertValues})
            on conflict (id) do update set {string.Join(", ", updates)}
            where coalesce((c.data ->> '{position}')::bigint, -1) < (excluded.data ->> '{position}')::bigint
            """;
    }

    /// <summary>Whether both tables are plain document tables, so that <see cref="ReadState"/> applies.</summary>
    public bool CanRead { get; }

    /// <summary>Whether the checkpoints' table is a plain document table without versions Marten checks, so that <see cref="MoveCheckpoint"/> applies.</summary>
    public bool CanMoveCheckpoint { get; }

    /// <summary>Three parameters, the projection's name each time: one row, a JSON object read as <see cref="StateRow"/>.</summary>
    public string ReadState { get; }

    /// <summary>Parameters: the checkpoint's id, its JSON, and its .NET type when <see cref="WithDotNetType"/>.</summary>
    public string MoveCheckpoint { get; }

    /// <summary>Whether <see cref="MoveCheckpoint"/> takes the document's .NET type.</summary>
    public bool WithDotNetType { get; }

    /// <summary>Marten's serializer, for the checkpoint's JSON.</summary>
    public global::Marten.ISerializer Serializer { get; }

    public static ProjectionDocumentsSql For(IDocumentStore store) => Cache.GetValue(store, static s => new ProjectionDocumentsSql(s));

    /// <summary>The parameters of <see cref="MoveCheckpoint"/> for <paramref name="checkpoint"/>.</summary>
    public object[] MoveParameters(GenerationCheckpoint checkpoint)
    {
        var json = Serializer.ToJson(checkpoint);
        return WithDotNetType ? [checkpoint.Id, json, typeof(GenerationCheckpoint).FullName!] : [checkpoint.Id, json];
    }

    /// <summary>One row per id, every row a live document: what the SQL here can read and write as Marten would.</summary>
    private static bool Readable(DocumentMapping mapping) =>
        mapping.TenancyStyle == JasperFx.MultiTenancy.TenancyStyle.Single && mapping.Partitioning is null && !mapping.IsHierarchy()
        && mapping.DeleteStyle == JasperFx.DeleteStyle.Remove;

    private string KeyOf(object probe, long value)
    {
        using var json = JsonDocument.Parse(Serializer.ToJson(probe));
        foreach (var property in json.RootElement.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out var number) && number == value)
            {
                return property.Name.Replace("'", "''", StringComparison.Ordinal);
            }
        }

        throw new InvalidOperationException($"Marten's serializer writes no field holding {value} for {probe.GetType().Name}: {json.RootElement}");
    }

    /// <summary>What <see cref="ReadState"/> reads: the generations and the checkpoints of the serving and building ones.</summary>
    internal sealed class StateRow
    {
        [JsonPropertyName("generations")]
        public ProjectionGenerations? Generations { get; set; }

        [JsonPropertyName("serving")]
        public GenerationCheckpoint? Serving { get; set; }

        [JsonPropertyName("building")]
        public GenerationCheckpoint? Building { get; set; }
    }
}
