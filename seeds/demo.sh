#!/usr/bin/env bash
# The demo: build a registry of 安吉县 from the seed deliveries at two vintages, look things up, export.
# Usage: NRLEDGER=path/to/nrledger seeds/demo.sh OUT_DIR
set -euo pipefail
N=${NRLEDGER:-nrledger}
OUT=${1:-out/demo}
SEEDS=$(dirname "$0")/anji
rm -rf "$OUT" && mkdir -p "$OUT/export"
REG="$OUT/registry.gpkg"

echo "== init: a registry for 330523 安吉县"
"$N" init "$REG" --region 330523

for D in 2019-12-31 2020-12-31; do
  echo "== import the $D delivery"
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer admin --src-layer XZQ --as-of "$D" --registrar demo
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer parcels --profile sandiao-dltb --as-of "$D" --registrar demo
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer redlines --profile stbhhx --as-of "$D" --registrar demo
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer farmland --profile yjjbnt --as-of "$D" --registrar demo
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer urban --profile czkfbj --as-of "$D" --registrar demo
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer units --profile zrzy-djdy --as-of "$D" --registrar demo
done

echo "== what the registry holds"
"$N" info "$REG" --events

echo "== the clerk's lookup at 119.5630°E 30.4536°N, now and at the end of 2019 (a forest parcel turned into a mine in a red line)"
"$N" query "$REG" --at 119.5630,30.4536
"$N" query "$REG" --at 119.5630,30.4536 --as-of 2019-12-31

echo "== export every layer (current) as GeoJSON, the 2019 parcels as GeoPackage, the parcel history as Shapefile"
for L in admin units parcels redlines farmland urban; do
  "$N" export "$REG" --layer "$L" --out "$OUT/export/$L.geojson"
done
"$N" export "$REG" --layer parcels --as-of 2019-12-31 --out "$OUT/export/parcels-2019.gpkg"
"$N" export "$REG" --layer parcels --history --out "$OUT/export/parcels-history.shp"

echo "== checks: the 2019 survey, then the 2020 survey (which has deliberate defects; exit status 1 is expected)"
"$N" check "$REG" --as-of 2019-12-31
"$N" check "$REG" --out "$OUT/findings.gpkg" || test $? -eq 1

echo "== done: registry $REG (open it in QGIS), exports in $OUT/export/, findings in $OUT/findings.gpkg"
