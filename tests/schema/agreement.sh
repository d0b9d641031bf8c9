#!/usr/bin/env bash
# Compares the C schema interpreter (common/jsonschema.c, through the
# schema_check tool) with ajv, the reference validator, on every example
# document: both must give the same verdict, and for invalid documents the
# same failing keyword and instance pointer.
#
# Usage: agreement.sh REPO_ROOT SCHEMA_CHECK_BIN WORKDIR
# ajv is installed into WORKDIR from tests/schema/package-lock.json (npm ci),
# once: later runs reuse it while the lock file is unchanged.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 REPO_ROOT SCHEMA_CHECK_BIN WORKDIR" >&2
    exit 2
fi
root=$(cd "$1" && pwd)
check_bin=$2
mkdir -p "$3"
work=$(cd "$3" && pwd)
schema=$root/schema/inventory-batch.v1.schema.json

if [ ! -x "$work/node_modules/.bin/ajv" ] ||
    ! cmp -s "$root/tests/schema/package-lock.json" "$work/package-lock.json"; then
    cp "$root/tests/schema/package.json" "$root/tests/schema/package-lock.json" "$work/"
    npm ci --prefix "$work" --no-audit --no-fund --loglevel=error >&2
fi

# One node process for all files. Equivalent to, per file,
#   ajv validate --spec=draft2020 --strict=false --errors=json -s SCHEMA -d FILE
# (ajv-cli 5 builds Ajv2020 with {strict: false}; allErrors stays off, so
# ajv stops at the first error, as the C interpreter does).
cat >"$work/ajv-check.js" <<'EOF'
'use strict';
const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');
const [schemaPath, ...files] = process.argv.slice(2);
const ajv = new Ajv2020({strict: false});
addFormats(ajv, ['date', 'date-time']);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
const out = [];
for (const file of files) {
    let doc;
    try {
        doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
        out.push(`${file}\tinvalid-json\t`);
        continue;
    }
    if (validate(doc)) {
        out.push(`${file}\tvalid`);
    } else {
        const e = validate.errors[0];
        out.push(`${file}\t${e.keyword}\t${e.instancePath}`);
    }
}
process.stdout.write(out.join('\n') + '\n');
EOF

mapfile -t files < <(find "$root/schema/examples/valid" "$root/schema/examples/invalid" \
    -name '*.json' | LC_ALL=C sort)
if [ ${#files[@]} -eq 0 ]; then
    echo "schema agreement: no example files found under $root/schema/examples" >&2
    exit 1
fi

# "valid", or "<keyword> at '<pointer>'" (the pointer may be empty: the root).
declare -A ajv_says c_says
describe() {
    if [ "$1" = valid ]; then echo valid; else echo "$1 at '$2'"; fi
}
while IFS=$'\t' read -r file verdict pointer; do
    ajv_says[$file]=$(describe "$verdict" "$pointer")
done < <(cd "$work" && node ajv-check.js "$schema" "${files[@]}")
while IFS=$'\t' read -r file verdict pointer; do
    c_says[$file]=$(describe "$verdict" "$pointer")
done < <("$check_bin" "$schema" "${files[@]}")

disagreements=0
for file in "${files[@]}"; do
    a=${ajv_says[$file]-"(no answer)"}
    c=${c_says[$file]-"(no answer)"}
    if [ "$a" != "$c" ]; then
        disagreements=$((disagreements + 1))
        echo "DISAGREE ${file#"$root"/}: ajv says $a; C says $c"
    fi
done
echo "schema agreement: ${#files[@]} files, $disagreements disagreements"
[ "$disagreements" -eq 0 ]
