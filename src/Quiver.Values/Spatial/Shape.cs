using System.Collections.Immutable;

namespace Quiver.Spatial;

/// <summary>The OGC simple-feature kinds a GEOMETRY field holds (Milvus's set).</summary>
internal enum GeometryKind
{
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    GeometryCollection,
}

/// <summary>A planar coordinate.</summary>
internal readonly record struct Coord(double X, double Y);

/// <summary>A parsed planar geometry. Points and line strings hold <see cref="Coords"/>; a polygon holds its rings in
/// <see cref="Rings"/> (shell first, then holes, each closed); the multi kinds and collections hold <see cref="Parts"/>.
/// An empty geometry has no coordinates, rings or parts.</summary>
internal sealed record Shape(GeometryKind Kind, ImmutableArray<Coord> Coords, ImmutableArray<ImmutableArray<Coord>> Rings, ImmutableArray<Shape> Parts)
{
    public static Shape Point(Coord c) => new(GeometryKind.Point, [c], [], []);

    public bool IsEmpty => Kind switch
    {
        GeometryKind.Point or GeometryKind.LineString => Coords.IsEmpty,
        GeometryKind.Polygon => Rings.IsEmpty,
        _ => Parts.All(p => p.IsEmpty),
    };

    /// <summary>The simple parts (points, line strings, polygons), collections flattened; empty ones left out.</summary>
    public IEnumerable<Shape> Simple()
    {
        if (Kind is GeometryKind.Point or GeometryKind.LineString or GeometryKind.Polygon)
        {
            if (!IsEmpty)
            {
                yield return this;
            }

            yield break;
        }

        foreach (var part in Parts)
        {
            foreach (var s in part.Simple())
            {
                yield return s;
            }
        }
    }
}
