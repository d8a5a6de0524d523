// Milvus's spatial filter functions through the official Node.js SDK (gRPC query and search) and its HttpClient (REST
// v2 query): ST_INTERSECTS, ST_CONTAINS, ST_WITHIN, ST_EQUALS, ST_TOUCHES, ST_CROSSES, ST_OVERLAPS and ST_DWITHIN over a
// GEOMETRY field of points, axis-aligned boxes, horizontal segments and nulls, on a grid of quarter degrees so that
// many rows lie exactly on the query box's edges and corners. Every answer is compared with an oracle written here from
// the OGC definitions for these simple shapes (interiors, boundaries and exteriors of points, segments and boxes) and,
// for ST_DWITHIN, from Milvus 2.6's rule (haversine on a 6,371,000 m sphere for a stored point; planar degrees to the
// nearest part, at 111,320 * sqrt((1 + cos^2 lat) / 2) m a degree at the query point's latitude, for any other shape),
// at thresholds halfway between consecutive oracle distances. Refusals of bad spatial arguments answer 1100.
'use strict';
const { DataType, client, httpClient, check, ok, milvusError, main, freshCollection, rng } = require('./common');

// The query box Q = [A, B] x [C, D] and the query point P (lon, lat).
const [A, B, C, D] = [10.5, 11.5, 50.5, 51.5];
const Q = `POLYGON ((${A} ${C}, ${B} ${C}, ${B} ${D}, ${A} ${D}, ${A} ${C}))`;

// Shapes: { kind: 'point', x, y } | { kind: 'box', x0, x1, y0, y1 } | { kind: 'segment', x0, x1, y } | null.
function wkt(s) {
  switch (s.kind) {
    case 'point': return `POINT (${s.x} ${s.y})`;
    case 'box': return `POLYGON ((${s.x0} ${s.y0}, ${s.x1} ${s.y0}, ${s.x1} ${s.y1}, ${s.x0} ${s.y1}, ${s.x0} ${s.y0}))`;
    default: return `LINESTRING (${s.x0} ${s.y}, ${s.x1} ${s.y})`;
  }
}

// Open and closed interval overlaps.
const closedMeet = (lo1, hi1, lo2, hi2) => lo1 <= hi2 && lo2 <= hi1;
const openMeet = (lo1, hi1, lo2, hi2) => Math.max(lo1, lo2) < Math.min(hi1, hi2);
const inside = (v, lo, hi) => lo < v && v < hi;
const within = (v, lo, hi) => lo <= v && v <= hi;

// The OGC relations of a stored shape s with the constant box Q.
function relateToBox(s) {
  switch (s.kind) {
    case 'point': {
      const meets = within(s.x, A, B) && within(s.y, C, D);
      const interior = inside(s.x, A, B) && inside(s.y, C, D);
      return { intersects: meets, within: interior, contains: false, touches: meets && !interior, crosses: false, overlaps: false, equals: false };
    }
    case 'box': {
      const meets = closedMeet(s.x0, s.x1, A, B) && closedMeet(s.y0, s.y1, C, D);
      const interiors = openMeet(s.x0, s.x1, A, B) && openMeet(s.y0, s.y1, C, D);
      const inQ = s.x0 >= A && s.x1 <= B && s.y0 >= C && s.y1 <= D;
      const holdsQ = A >= s.x0 && B <= s.x1 && C >= s.y0 && D <= s.y1;
      return {
        intersects: meets, within: inQ, contains: holdsQ, touches: meets && !interiors, crosses: false,
        overlaps: interiors && !inQ && !holdsQ, equals: inQ && holdsQ,
      };
    }
    default: {
      const meets = within(s.y, C, D) && closedMeet(s.x0, s.x1, A, B);
      const interiors = inside(s.y, C, D) && openMeet(s.x0, s.x1, A, B);
      const inQ = within(s.y, C, D) && s.x0 >= A && s.x1 <= B;
      return {
        intersects: meets, within: inQ && interiors, contains: false, touches: meets && !interiors,
        crosses: interiors && (s.x0 < A || s.x1 > B), overlaps: false, equals: false,
      };
    }
  }
}

// The relations of a stored shape with the constant point (px, py).
function relateToPoint(s, px, py) {
  switch (s.kind) {
    case 'point': {
      const same = s.x === px && s.y === py;
      return { intersects: same, within: same, contains: same, touches: false, equals: same };
    }
    case 'box': {
      const meets = within(px, s.x0, s.x1) && within(py, s.y0, s.y1);
      const interior = inside(px, s.x0, s.x1) && inside(py, s.y0, s.y1);
      return { intersects: meets, within: false, contains: interior, touches: meets && !interior, equals: false };
    }
    default: {
      const meets = py === s.y && within(px, s.x0, s.x1);
      const interior = py === s.y && inside(px, s.x0, s.x1);
      return { intersects: meets, within: false, contains: interior, touches: meets && !interior, equals: false };
    }
  }
}

// ST_DWITHIN's distance in meters by Milvus 2.6's rule.
const radians = d => (d * Math.PI) / 180;
function haversine(lon1, lat1, lon2, lat2) {
  const dLat = radians(lat2 - lat1);
  const dLon = radians(lon2 - lon1);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(lat1)) * Math.cos(radians(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.min(1, Math.sqrt(h)));
}
function meters(s, px, py) {
  if (s.kind === 'point') return haversine(px, py, s.x, s.y);
  const gap = (v, lo, hi) => (v < lo ? lo - v : v > hi ? v - hi : 0);
  const degrees = s.kind === 'box'
    ? Math.hypot(gap(px, s.x0, s.x1), gap(py, s.y0, s.y1))
    : Math.hypot(gap(px, s.x0, s.x1), py - s.y);
  const perDegree = 111320 * Math.sqrt((1 + Math.cos(radians(py)) ** 2) / 2);
  return degrees * perDegree;
}

main('spatial', async () => {
  const c = client();
  const h = httpClient();
  const name = `compat_spatial_${process.pid}`;
  const steps = [];
  await freshCollection(c, name, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'geo', data_type: DataType.Geometry, nullable: true },
    { name: 'v', data_type: DataType.FloatVector, dim: 2 },
  ]);

  // Quarter-degree grid coordinates in [10, 12] x [50, 52] (exact in binary), some points off the grid.
  const r = rng(2026);
  const grid = lo => lo + 0.25 * Math.floor(r() * 9);
  const span = () => { const a = grid(0); let b = grid(0); while (b === a) b = grid(0); return [Math.min(a, b), Math.max(a, b)]; };
  const shapes = [];
  for (let i = 0; i < 240; i++) {
    const pick = r();
    if (pick < 0.08) shapes.push(null);
    else if (pick < 0.4) shapes.push({ kind: 'point', x: grid(10), y: grid(50) });
    else if (pick < 0.5) shapes.push({ kind: 'point', x: Number((10 + 2 * r()).toFixed(4)), y: Number((50 + 2 * r()).toFixed(4)) });
    else if (pick < 0.8) { const [x0, x1] = span().map(x => x + 10); const [y0, y1] = span().map(y => y + 50); shapes.push({ kind: 'box', x0, x1, y0, y1 }); }
    else { const [x0, x1] = span().map(x => x + 10); shapes.push({ kind: 'segment', x0, x1, y: grid(50) }); }
  }
  // Q itself, a point at its corner and one at its centre, so EQUALS and the corner cases have rows.
  shapes.push({ kind: 'box', x0: A, x1: B, y0: C, y1: D }, { kind: 'point', x: A, y: C }, { kind: 'point', x: 11, y: 51 });
  const rows = shapes.map((s, id) => ({ id, geo: s === null ? null : wkt(s), v: [id % 7, id % 11] }));
  // Half through gRPC and flushed (sealed), the rest through REST (growing).
  ok(await c.insert({ collection_name: name, data: rows.slice(0, 150) }), 'insert');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  const restInsert = await h.insert({ collectionName: name, data: rows.slice(150) });
  check(restInsert.code === 0, 'REST insert', restInsert);
  ok(await c.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  steps.push('insert');

  const ask = async (filter, what) => {
    const viaGrpc = await c.query({ collection_name: name, filter, output_fields: ['id'], limit: 1000 });
    ok(viaGrpc, `gRPC query ${what}`);
    const viaRest = await h.query({ collectionName: name, filter, outputFields: ['id'], limit: 1000 });
    check(viaRest.code === 0, `REST query ${what}`, viaRest);
    return [['gRPC', viaGrpc.data], ['REST', viaRest.data]];
  };
  const compare = async (filter, want) => {
    const expected = shapes.map((s, id) => [s, id]).filter(([s]) => s !== null && want(s)).map(([, id]) => id);
    for (const [via, got] of await ask(filter, filter)) {
      const ids = got.map(x => Number(x.id)).sort((a, b) => a - b);
      check(JSON.stringify(ids) === JSON.stringify(expected), `${via} ${filter}`, {
        missing: expected.filter(id => !ids.includes(id)).map(id => rows[id].geo),
        extra: ids.filter(id => !expected.includes(id)).map(id => rows[id].geo),
      });
    }
    return expected.length;
  };

  // Every relation against the box, upper and lower case, and NOT (a null row stays out of both).
  const counts = {};
  for (const relation of ['intersects', 'within', 'contains', 'touches', 'crosses', 'overlaps', 'equals']) {
    const fn = `ST_${relation.toUpperCase()}`;
    counts[relation] = await compare(`${fn}(geo, '${Q}')`, s => relateToBox(s)[relation]);
    await compare(`not ${fn.toLowerCase()}(geo, '${Q}')`, s => !relateToBox(s)[relation]);
  }
  for (const relation of ['intersects', 'within', 'touches', 'crosses', 'overlaps', 'contains', 'equals']) {
    check(counts[relation] > 0, `the data has rows for ST_${relation.toUpperCase()} with the box`, counts);
  }
  steps.push('box relations');

  // Against points: Q's corner (on edges of many boxes and segments) and its centre.
  for (const [px, py] of [[A, C], [11, 51], [10.75, 51]]) {
    const P = `POINT (${px} ${py})`;
    for (const relation of ['intersects', 'within', 'contains', 'touches', 'equals']) {
      await compare(`ST_${relation.toUpperCase()}(geo, '${P}')`, s => relateToPoint(s, px, py)[relation]);
    }
  }
  steps.push('point relations');

  // ST_DWITHIN at 0 and at thresholds halfway between consecutive oracle distances from two query points.
  for (const [px, py] of [[11, 51], [10.3, 50.8]]) {
    const distances = [...new Set(shapes.filter(s => s !== null).map(s => meters(s, px, py)))].sort((a, b) => a - b);
    const thresholds = [0, ...[0.02, 0.1, 0.3, 0.6, 0.9].map(f => {
      const j = Math.max(1, Math.floor(f * (distances.length - 1)));
      return (distances[j - 1] + distances[j]) / 2;
    })];
    for (const t of thresholds) {
      await compare(`ST_DWITHIN(geo, 'POINT (${px} ${py})', ${t})`, s => meters(s, px, py) <= t);
    }
  }
  steps.push('dwithin');

  // A spatial filter in a search: the exact L2 top 10 of the rows the filter keeps.
  const q = [3, 5];
  const filter = `ST_DWITHIN(geo, 'POINT (11 51)', 40000) and ST_INTERSECTS(geo, '${Q}')`;
  const hits = await c.search({ collection_name: name, data: [q], limit: 10, filter, output_fields: ['geo'] });
  ok(hits, 'search with spatial filters');
  const truth = shapes.map((s, id) => [s, id]).filter(([s]) => s !== null && meters(s, 11, 51) <= 40000 && relateToBox(s).intersects)
    .map(([, id]) => (rows[id].v[0] - q[0]) ** 2 + (rows[id].v[1] - q[1]) ** 2).sort((a, b) => a - b).slice(0, 10);
  check(hits.results.length === truth.length, 'search hit count', { got: hits.results.length, want: truth.length });
  hits.results.forEach((hit, j) => {
    const s = shapes[Number(hit.id)];
    check(s !== null && meters(s, 11, 51) <= 40000 && relateToBox(s).intersects, `search hit ${j} passes the filter`, hit);
    check(Math.abs(hit.score - truth[j]) < 1e-6, `search hit ${j} equals the oracle`, { got: hits.results.map(x => x.score), want: truth });
  });
  steps.push('search');

  // Bad arguments answer 1100 naming the problem, over both transports.
  for (const [bad, pattern] of [
    [`ST_DWITHIN(geo, '${Q}', 10)`, /second argument of ST_DWITHIN must be a POINT \(longitude latitude\), not a POLYGON/],
    [`ST_DWITHIN(geo, 'POINT (11 51)', -1)`, /distance of ST_DWITHIN must be a finite number of meters, not negative, got -1/],
    [`ST_DWITHIN(geo, 'POINT (11 51)')`, /ST_DWITHIN takes 3 arguments, got 2/],
    [`ST_INTERSECTS(geo, 'POLYGON ((1 1, 2 2')`, /second argument of ST_INTERSECTS is not valid WKT/],
    ['ST_Intersects(geo, \'POINT (1 1)\')', /write ST_INTERSECTS or st_intersects, not ST_Intersects/],
    [`ST_CONTAINS(id, '${Q}')`, /first argument of ST_CONTAINS must be a GEOMETRY field/],
  ]) {
    const s = milvusError(await c.query({ collection_name: name, filter: bad, output_fields: ['id'] }), `gRPC ${bad}`);
    check(s.code === 1100 && pattern.test(s.reason), `gRPC ${bad}: 1100 naming the problem`, s);
    const viaRest = await h.query({ collectionName: name, filter: bad, outputFields: ['id'] });
    check(viaRest.code === 1100 && pattern.test(viaRest.message), `REST ${bad}: 1100 naming the problem`, viaRest);
  }
  steps.push('refusals');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  await c.closeConnection();
  return steps;
});
