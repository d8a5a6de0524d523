namespace Quiver.Spatial;

/// <summary>Milvus's <c>ST_DWITHIN(geo, 'POINT (lon lat)', meters)</c>, by Milvus 2.6's own rule: coordinates are
/// longitude (x) and latitude (y) in degrees. A stored POINT is measured from the query point along a sphere of radius
/// 6,371,000 m (the haversine formula). Any other stored geometry is measured in the plane, in degrees, from the query
/// point to its nearest part (zero when the point lies in a polygon or on a line), and the degrees are turned into
/// meters at the query point's latitude φ by 111,320 · √((1 + cos² φ) / 2) m per degree. The row is within when that
/// distance is at most the given one. An empty stored geometry has no nearest part and is never within.</summary>
internal static class DWithin
{
    /// <summary>The sphere's radius Milvus measures point-to-point distances on, in meters.</summary>
    public const double EarthRadiusMeters = 6_371_000.0;

    /// <summary>Meters in one degree of latitude, Milvus's base for converting planar degrees to meters.</summary>
    public const double MetersPerDegree = 111_320.0;

    /// <summary>True when <paramref name="stored"/> lies within <paramref name="meters"/> of <paramref name="query"/>
    /// (a non-empty point) by Milvus's rule.</summary>
    public static bool Holds(Shape stored, Coord query, double meters) => Distance(stored, query) <= meters;

    /// <summary>The distance in meters from <paramref name="query"/> to <paramref name="stored"/> by Milvus's rule;
    /// positive infinity for an empty geometry.</summary>
    public static double Distance(Shape stored, Coord query)
    {
        if (stored.Kind == GeometryKind.Point)
        {
            return stored.IsEmpty ? double.PositiveInfinity : Haversine(stored.Coords[0], query);
        }

        var degrees = PlanarDistance(stored, query);
        return double.IsPositiveInfinity(degrees) ? degrees : degrees * MetersPerDegreeAt(query.Y);
    }

    /// <summary>The great-circle distance in meters between two (longitude, latitude) points in degrees.</summary>
    public static double Haversine(Coord a, Coord b)
    {
        var lat1 = a.Y * (Math.PI / 180.0);
        var lat2 = b.Y * (Math.PI / 180.0);
        var halfDLat = (lat2 - lat1) / 2.0;
        var halfDLon = (b.X - a.X) * (Math.PI / 180.0) / 2.0;
        var sinLat = Math.Sin(halfDLat);
        var sinLon = Math.Sin(halfDLon);
        var h = (sinLat * sinLat) + (Math.Cos(lat1) * Math.Cos(lat2) * sinLon * sinLon);
        return EarthRadiusMeters * 2.0 * Math.Atan2(Math.Sqrt(h), Math.Sqrt(1.0 - h));
    }

    /// <summary>Meters per planar degree at latitude <paramref name="latitude"/> (degrees), as Milvus converts.</summary>
    public static double MetersPerDegreeAt(double latitude)
    {
        var cos = Math.Cos(latitude * (Math.PI / 180.0));
        return MetersPerDegree * Math.Sqrt((1.0 + (cos * cos)) / 2.0);
    }

    /// <summary>The planar distance from <paramref name="p"/> to the nearest point of <paramref name="shape"/>, in the
    /// coordinates' units: zero inside a polygon (holes excluded) or on any part; infinity when the shape is empty.</summary>
    public static double PlanarDistance(Shape shape, Coord p)
    {
        var best = double.PositiveInfinity;
        foreach (var part in shape.Simple())
        {
            switch (part.Kind)
            {
                case GeometryKind.Point:
                    best = Math.Min(best, Length(part.Coords[0].X - p.X, part.Coords[0].Y - p.Y));
                    break;
                case GeometryKind.LineString:
                    best = Math.Min(best, ToPath(part.Coords, p));
                    break;
                default:
                    if (Predicates.Locate(p, part) >= 0)
                    {
                        return 0;
                    }

                    foreach (var ring in part.Rings)
                    {
                        best = Math.Min(best, ToPath(ring, p));
                    }

                    break;
            }
        }

        return best;
    }

    /// <summary>The distance from p to the nearest point of a path of segments (a single coordinate is a point).</summary>
    private static double ToPath(System.Collections.Immutable.ImmutableArray<Coord> path, Coord p)
    {
        var best = Length(path[0].X - p.X, path[0].Y - p.Y);
        for (var i = 0; i + 1 < path.Length; i++)
        {
            best = Math.Min(best, ToSegment(p, path[i], path[i + 1]));
        }

        return best;
    }

    /// <summary>The distance from p to segment ab: to the foot of the perpendicular when it falls within the segment,
    /// else to the nearer end.</summary>
    private static double ToSegment(Coord p, Coord a, Coord b)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y;
        var squared = (dx * dx) + (dy * dy);
        if (squared == 0)
        {
            return Length(p.X - a.X, p.Y - a.Y);
        }

        var t = (((p.X - a.X) * dx) + ((p.Y - a.Y) * dy)) / squared;
        if (t <= 0)
        {
            return Length(p.X - a.X, p.Y - a.Y);
        }

        if (t >= 1)
        {
            return Length(p.X - b.X, p.Y - b.Y);
        }

        // |cross| / |ab| is the perpendicular distance, and exactly zero when p is on the line through a and b.
        var cross = Predicates.Orientation(a, b, p) == 0 ? 0.0 : Math.Abs((dx * (p.Y - a.Y)) - (dy * (p.X - a.X)));
        return cross / Math.Sqrt(squared);
    }

    private static double Length(double dx, double dy) => Math.Sqrt((dx * dx) + (dy * dy));
}
