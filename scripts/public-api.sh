#!/usr/bin/env bash
# Brings the packaged libraries' PublicAPI.Unshipped.txt files up to date with their code (docs/packages.md): builds
# them, adds every public symbol the build reports as undeclared (RS0016) and drops every declared one that is gone
# (RS0017), until the build passes. Run it after adding or removing public API, or after a merge, and review the diff:
# it is the public API change a release note lists.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for round in 1 2 3 4 5; do
  if dotnet build src/Quiver.Values/Quiver.Values.csproj -c Release --nologo -v quiet -clp:ErrorsOnly > "$log" 2>&1 &&
     dotnet build src/Quiver.Engine/Quiver.Engine.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >> "$log" 2>&1 &&
     dotnet build src/Quiver.Client/Quiver.Client.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >> "$log" 2>&1 &&
     dotnet build src/Quiver.Embeddings/Quiver.Embeddings.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >> "$log" 2>&1 &&
     dotnet build src/Quiver.Typed/Quiver.Typed.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >> "$log" 2>&1 &&
     dotnet build src/Quiver.VectorData/Quiver.VectorData.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >> "$log" 2>&1 &&
     dotnet build src/Quiver.Toolbox/Quiver.Toolbox.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >> "$log" 2>&1; then
    echo "public-api: the PublicAPI files match the code"
    exit 0
  fi
  if ! grep -qE 'error RS001[67]' "$log"; then
    grep -E ' error ' "$log" | sort -u >&2
    echo "public-api: the build fails for another reason (above)" >&2
    exit 1
  fi
  python3 - "$log" <<'PY'
import collections, re, sys
add, drop = collections.defaultdict(set), collections.defaultdict(set)
pattern = re.compile(r"error (RS0016|RS0017): Symbol '(.*)' (?:is not part of the declared public API|is part of the declared API).*\[(.*)/Quiver\.(\w+)\.csproj\]$")
for line in open(sys.argv[1], encoding="utf-8"):
    m = pattern.search(line.rstrip("\n"))
    if m:
        (add if m.group(1) == "RS0016" else drop)[m.group(4)].add(m.group(2))
for project in set(add) | set(drop):
    path = f"src/Quiver.{project}/PublicAPI.Unshipped.txt"
    lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l and not l.startswith("#")]
    kept = (set(lines) - drop[project]) | add[project]
    open(path, "w", encoding="utf-8").write("#nullable enable\n" + "".join(s + "\n" for s in sorted(kept, key=lambda s: (s.lower(), s))))
    print(f"public-api: {path}: +{len(add[project])} -{len(drop[project] & set(lines))}")
PY
done
echo "public-api: still failing after 5 rounds" >&2
exit 1
