using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EventSourcing.Docs.Tests;

/// <summary>A fenced code block of a markdown file: its info string (<c>csharp</c>), the line of its opening fence and its lines.</summary>
internal sealed record CodeBlock(string File, int Line, string Info, IReadOnlyList<string> Lines);

/// <summary>A link of a markdown file, outside code: <c>[text](target)</c> or a reference definition <c>[id]: target</c>.</summary>
internal sealed record MarkdownLink(string File, int Line, string Target);

/// <summary>The repository's documentation (README.md and docs/*.md), read from the working tree.</summary>
internal static partial class MarkdownDocs
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: the first folder above the test assembly that holds EventSourcing.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>README.md and docs/*.md, as paths relative to the root with forward slashes.</summary>
    public static IReadOnlyList<string> Files =>
    [
        "README.md",
        .. Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")
            .Select(path => "docs/" + Path.GetFileName(path))
            .Order(StringComparer.Ordinal),
    ];

    public static string[] ReadLines(string file) => File.ReadAllLines(Path.Combine(Root, file));

    /// <summary>The fenced code blocks of <paramref name="file"/> (``` or ~~~, as CommonMark closes them).</summary>
    public static IEnumerable<CodeBlock> CodeBlocks(string file)
    {
        var lines = ReadLines(file);
        for (var i = 0; i < lines.Length; i++)
        {
            if (OpeningFence(lines[i]) is not { } fence)
            {
                continue;
            }

            var start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !IsClosingFence(lines[i], fence.Marker); i++)
            {
                body.Add(lines[i]);
            }

            yield return new CodeBlock(file, start + 1, fence.Info, body);
        }
    }

    /// <summary>The lines of <paramref name="file"/> outside fenced code blocks, with their line numbers (from 1).</summary>
    public static IEnumerable<(int Line, string Text)> ProseLines(string file)
    {
        var lines = ReadLines(file);
        string? marker = null;
        for (var i = 0; i < lines.Length; i++)
        {
            if (marker is null && OpeningFence(lines[i]) is { } fence)
            {
                marker = fence.Marker;
            }
            else if (marker is not null)
            {
                if (IsClosingFence(lines[i], marker))
                {
                    marker = null;
                }
            }
            else
            {
                yield return (i + 1, lines[i]);
            }
        }
    }

    /// <summary>The relative and absolute links of <paramref name="file"/>, outside code blocks and code spans.</summary>
    public static IEnumerable<MarkdownLink> Links(string file)
    {
        foreach (var (line, text) in ProseLines(file))
        {
            var prose = CodeSpan().Replace(text, string.Empty);
            foreach (Match match in InlineLink().Matches(prose))
            {
                yield return new MarkdownLink(file, line, match.Groups["target"].Value.Trim('<', '>'));
            }

            if (ReferenceDefinition().Match(prose) is { Success: true } definition)
            {
                yield return new MarkdownLink(file, line, definition.Groups["target"].Value.Trim('<', '>'));
            }
        }
    }

    /// <summary>The anchors GitHub gives the ATX headings of <paramref name="file"/> (a repeated slug gets -1, -2, ...).</summary>
    public static IReadOnlySet<string> Anchors(string file)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, text) in ProseLines(file))
        {
            if (Heading().Match(text) is not { Success: true } heading)
            {
                continue;
            }

            var slug = Slug(heading.Groups["text"].Value);
            var count = seen.GetValueOrDefault(slug);
            seen[slug] = count + 1;
            anchors.Add(count == 0 ? slug : $"{slug}-{count}");
        }

        return anchors;
    }

    /// <summary>
    /// GitHub's anchor for a heading: its text (links reduced to their text) in lower case, without the characters that
    /// are not letters, digits, marks, '-', '_' or spaces, spaces turned into '-'.
    /// </summary>
    public static string Slug(string heading)
    {
        var text = InlineLink().Replace(heading, match => match.Groups["text"].Value).Trim().ToLowerInvariant();
        var slug = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c == ' ')
            {
                slug.Append('-');
            }
            else if (c is '-' or '_' || char.IsLetterOrDigit(c) || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark
                or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber)
            {
                slug.Append(c);
            }
        }

        return slug.ToString();
    }

    private static (string Marker, string Info)? OpeningFence(string line)
    {
        var match = Fence().Match(line);
        return match.Success ? (match.Groups["marker"].Value, match.Groups["info"].Value.Trim()) : null;
    }

    private static bool IsClosingFence(string line, string marker)
    {
        var trimmed = line.Trim();
        return trimmed.Length >= marker.Length && trimmed.All(c => c == marker[0]) && line.Length - line.TrimStart().Length <= 3;
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "EventSourcing.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds EventSourcing.sln.");
    }

    [GeneratedRegex(@"^ {0,3}(?<marker>`{3,}|~{3,})(?<info>[^`]*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"!?\[(?<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\((?<target><[^>]*>|[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^ {0,3}\[[^\]]+\]:\s+(?<target>\S+)")]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"^ {0,3}#{1,6}\s+(?<text>.*?)(?:\s+#+)?\s*$")]
    private static partial Regex Heading();
}
