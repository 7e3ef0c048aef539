namespace EventSourcing.Storage;

/// <summary>
/// A list with one writer at a time and any number of lock-free readers. Items added are invisible to
/// readers until <see cref="Publish"/>, so a reader never sees half of an append.
/// </summary>
internal sealed class AppendOnlyList<T>
{
    private T[] _items = new T[16];
    private int _pending;
    private int _count;

    /// <summary>The number of published items.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The published item at <paramref name="index"/> (below <see cref="Count"/> as read before).</summary>
    public T this[int index] => Volatile.Read(ref _items)[index];

    /// <summary>Adds an item, unpublished. Callers serialize writers.</summary>
    public void Add(T item)
    {
        if (_pending == _items.Length)
        {
            var grown = new T[_items.Length * 2];
            Array.Copy(_items, grown, _pending);
            Volatile.Write(ref _items, grown);
        }

        _items[_pending++] = item;
    }

    /// <summary>Drops the items added since the last publish.</summary>
    public void Rollback()
    {
        Array.Clear(_items, _count, _pending - _count);
        _pending = _count;
    }

    /// <summary>Makes every added item visible to readers at once.</summary>
    public void Publish() => Volatile.Write(ref _count, _pending);
}
