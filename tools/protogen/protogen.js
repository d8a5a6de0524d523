// Writes Quiver's .proto files for the Milvus wire protocol from the facts the official Node.js SDK ships
// (dist/milvus/proto-json): service and method names, message and enum names, field names, numbers, types and rules.
// Only what MilvusService reaches is written, one file per package. Custom options (privilege annotations, language
// packages) are left out of the .proto files; csharp_namespace is ours. The privilege annotations Milvus puts on each
// request message ((common.privilege_ext_obj): object type, privilege, which field names the object) are written
// instead as a C# table for the server's security gate (src/Quiver.Server/Security/PrivilegeTable.g.cs).
//
// Usage: node tools/protogen/protogen.js [OUT_DIR]   (needs `npm ci` in tests/compat first)
'use strict';
const path = require('path');
const fs = require('fs');
const compat = path.join(__dirname, '..', '..', 'tests', 'compat', 'node_modules');
const protobuf = require(path.join(compat, 'protobufjs'));
const sdkJson = require(path.join(compat, '@zilliz', 'milvus2-sdk-node', 'dist', 'milvus', 'proto-json', 'milvus.js')).default;
const sdkVersion = require(path.join(compat, '@zilliz', 'milvus2-sdk-node', 'package.json')).version;

const outDir = process.argv[2] || path.join(__dirname, '..', '..', 'src', 'Quiver.Protocol', 'Protos');
const root = protobuf.Root.fromJSON(sdkJson);
root.resolveAll();

const service = root.lookupService('milvus.proto.milvus.MilvusService');
const scalar = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32',
  'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);

// Collect every top-level type reachable from the service, keyed by the package that declares it.
const reached = new Set();
function topLevel(t) {
  while (t.parent && !(t.parent instanceof protobuf.Namespace && !(t.parent instanceof protobuf.Type))) t = t.parent;
  return t;
}
function visit(t) {
  if (!t || reached.has(t)) return;
  reached.add(t);
  if (t instanceof protobuf.Type) {
    for (const f of t.fieldsArray) if (f.resolvedType) visit(f.resolvedType);
    for (const n of t.nestedArray) visit(n);
  }
  const top = topLevel(t);
  if (top !== t) visit(top);
}
for (const m of service.methodsArray) { visit(m.resolvedRequestType); visit(m.resolvedResponseType); }
// Messages that travel serialized inside a bytes field, which no RPC names: SearchRequest.placeholder_group holds a
// PlaceholderGroup.
for (const name of ['milvus.proto.common.PlaceholderGroup']) visit(root.lookupType(name));

function packageOf(t) {
  const parts = [];
  for (let p = topLevel(t).parent; p && p.name; p = p.parent) parts.unshift(p.name);
  return parts.join('.');
}
const byPackage = new Map();
for (const t of reached) {
  if (topLevel(t) !== t) continue;
  const pkg = packageOf(t);
  if (!byPackage.has(pkg)) byPackage.set(pkg, []);
  byPackage.get(pkg).push(t);
}

function fileName(pkg) { return pkg.replace(/^milvus\.proto\./, '').replace(/\./g, '_') + '.proto'; }
function typeRef(f) { return scalar.has(f.type) ? f.type : f.resolvedType.fullName; }

function emitEnum(e, ind, out) {
  out.push(`${ind}enum ${e.name} {`);
  const aliased = new Set(Object.values(e.values)).size !== Object.keys(e.values).length;
  if (aliased) out.push(`${ind}  option allow_alias = true;`);
  for (const [name, value] of Object.entries(e.values)) {
    const dep = e.valuesOptions && e.valuesOptions[name] && e.valuesOptions[name].deprecated ? ' [deprecated = true]' : '';
    out.push(`${ind}  ${name} = ${value}${dep};`);
  }
  out.push(`${ind}}`);
}
function fieldLine(f, ind) {
  const dep = f.options && f.options.deprecated ? ' [deprecated = true]' : '';
  if (f.map) return `${ind}map<${f.keyType}, ${typeRef(f)}> ${f.name} = ${f.id}${dep};`;
  let label = f.repeated ? 'repeated ' : (f.options && f.options.proto3_optional ? 'optional ' : '');
  return `${ind}${label}${typeRef(f)} ${f.name} = ${f.id}${dep};`;
}
function emitType(t, ind, out) {
  out.push(`${ind}message ${t.name} {`);
  for (const n of t.nestedArray) {
    if (n instanceof protobuf.Enum) emitEnum(n, ind + '  ', out);
    else if (n instanceof protobuf.Type) emitType(n, ind + '  ', out);
  }
  const inOneof = new Set();
  for (const o of t.oneofsArray) {
    const synthetic = o.fieldsArray.length === 1 && o.fieldsArray[0].options && o.fieldsArray[0].options.proto3_optional;
    if (synthetic) continue;
    out.push(`${ind}  oneof ${o.name} {`);
    for (const f of o.fieldsArray) { out.push(fieldLine(f, ind + '    ').replace(/^(\s*)optional /, '$1')); inOneof.add(f); }
    out.push(`${ind}  }`);
  }
  for (const f of t.fieldsArray.slice().sort((a, b) => a.id - b.id)) if (!inOneof.has(f)) out.push(fieldLine(f, ind + '  '));
  for (const r of t.reserved || []) {
    if (Array.isArray(r)) out.push(`${ind}  reserved ${r[0] === r[1] ? r[0] : r[0] + ' to ' + r[1]};`);
    else out.push(`${ind}  reserved "${r}";`);
  }
  out.push(`${ind}}`);
}

fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const [pkg, types] of [...byPackage.entries()].sort()) {
  const deps = new Set();
  const walk = (t) => {
    if (t instanceof protobuf.Type) {
      for (const f of t.fieldsArray) if (f.resolvedType) { const p = packageOf(f.resolvedType); if (p !== pkg) deps.add(p); }
      for (const n of t.nestedArray) walk(n);
    }
  };
  types.forEach(walk);
  if (pkg === 'milvus.proto.milvus') {
    for (const m of service.methodsArray) {
      for (const t of [m.resolvedRequestType, m.resolvedResponseType]) { const p = packageOf(t); if (p !== pkg) deps.add(p); }
    }
  }
  const out = [
    `// Generated by tools/protogen/protogen.js from the wire facts in @zilliz/milvus2-sdk-node ${sdkVersion}; do not edit.`,
    'syntax = "proto3";', '', `package ${pkg};`, '',
    `option csharp_namespace = "Quiver.Protocol.${pkg.split('.').pop().replace(/^./, c => c.toUpperCase())}";`, '',
  ];
  for (const d of [...deps].sort()) out.push(`import "${fileName(d)}";`);
  if (deps.size) out.push('');
  for (const t of types.sort((a, b) => a.name.localeCompare(b.name))) {
    if (t instanceof protobuf.Enum) emitEnum(t, '', out); else if (t instanceof protobuf.Type) emitType(t, '', out);
    out.push('');
  }
  if (pkg === 'milvus.proto.milvus') {
    out.push(`service ${service.name} {`);
    for (const m of service.methodsArray) {
      const req = (m.requestStream ? 'stream ' : '') + m.resolvedRequestType.fullName;
      const res = (m.responseStream ? 'stream ' : '') + m.resolvedResponseType.fullName;
      out.push(`  rpc ${m.name}(${req}) returns (${res});`);
    }
    out.push('}', '');
  }
  fs.writeFileSync(path.join(outDir, fileName(pkg)), out.join('\n'));
  written.push(`${fileName(pkg)} (${types.length} types)`);
}
console.log(`wrote ${written.join(', ')} to ${outDir}; ${service.methodsArray.length} methods`);

// The privilege table: RPC -> (object type, privilege, request field that names the object). A method whose request
// carries no annotation needs no privilege beyond authentication, as in Milvus.
const privilegeOut = path.join(__dirname, '..', '..', 'src', 'Quiver.Server', 'Security', 'PrivilegeTable.g.cs');
const rows = [];
for (const m of service.methodsArray) {
  const o = m.resolvedRequestType.options || {};
  const type = o['(common.privilege_ext_obj).object_type'];
  const privilege = o['(common.privilege_ext_obj).object_privilege'];
  if (!type || !privilege) continue;
  const fieldName = (key) => {
    const index = o[key];
    if (index === undefined || index <= 0) return 'null';
    const f = m.resolvedRequestType.fieldsById[index];
    return f ? `"${f.name}"` : 'null';
  };
  const single = fieldName('(common.privilege_ext_obj).object_name_index');
  const many = fieldName('(common.privilege_ext_obj).object_name_indexs');
  rows.push(`        ["${m.name}"] = new("${type}", "${privilege}", ${single}, ${many}),`);
}
const cs = [
  `// Generated by tools/protogen/protogen.js from the privilege annotations in @zilliz/milvus2-sdk-node ${sdkVersion}; do not edit.`,
  'namespace Quiver.Server.Security;', '',
  '/// <summary>The privilege each MilvusService method needs, as Milvus annotates its request messages.</summary>',
  'internal static class PrivilegeTable',
  '{',
  '    /// <summary>RPC name -> requirement. Methods missing here need authentication only.</summary>',
  '    public static readonly IReadOnlyDictionary<string, PrivilegeRequirement> ByMethod =',
  '        new Dictionary<string, PrivilegeRequirement>(StringComparer.Ordinal)',
  '    {',
  ...rows,
  '    };',
  '}', '',
];
fs.mkdirSync(path.dirname(privilegeOut), { recursive: true });
fs.writeFileSync(privilegeOut, cs.join('\n'));
console.log(`wrote ${rows.length} privilege rows to ${privilegeOut}`);
