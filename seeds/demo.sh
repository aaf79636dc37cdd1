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
  "$N" import "$REG" "$SEEDS/$D.gpkg" --layer forest --profile forest-xb --as-of "$D" --registrar demo
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
"$N" check "$REG" --out "$OUT/findings.gpkg" --store || test $? -eq 1

echo "== registration: a new 森林 unit (首次登记), a change of its name (变更登记), its history"
"$N" register "$REG" first --unit 330523SN0005 --name 安吉县北部森林登记单元 --type 森林 --owner 集体 \
  --representative 村民委员会 --manner 直接行使 --manager 安吉县林业局 \
  --set "BDCDYH=330523001001GB00001W00000000;330523001001GB00002W00000000" \
  --geometry "$SEEDS/unit-example.geojson" --date 2021-03-01 --reason 首次登记 --document "安自然资登字〔2021〕第5号" --registrar demo
"$N" register "$REG" change --unit 330523SN0005 --name 安吉县北部森林一号登记单元 --date 2021-06-30 \
  --reason 名称变更 --document "安自然资登字〔2021〕第8号" --registrar demo
"$N" history "$REG" --unit 330523SN0005

echo "== register-book pages (登记簿)"
"$N" book "$REG" --unit 330523ZB0001 --out "$OUT/book-330523ZB0001.html"
"$N" book "$REG" --unit 330523SN0005 --out "$OUT/book-330523SN0005.html"
"$N" book "$REG" --unit 330523SN0005 --format json --out "$OUT/book-330523SN0005.json"

echo "== balance sheet (自然资源资产负债表) of 安吉县, 2019-12-31 → 2020-12-31: land, forest, water, liabilities"
BAL=(--from 2019-12-31 --to 2020-12-31 --region 330523 --forest-changes "$SEEDS/forest-changes.csv" --water "$SEEDS/water.csv" --targets "$SEEDS/targets.toml")
"$N" balance "$REG" "${BAL[@]}" --trace "$OUT/balance-trace.gpkg"
"$N" balance "$REG" "${BAL[@]}" --format xlsx --out "$OUT/balance-330523.xlsx"
"$N" balance "$REG" "${BAL[@]}" --level 8class --format json --out "$OUT/balance-330523-8class.json"

echo "== land-use monitoring (国土空间监测): the 2020 approvals and mining rights, then the changes since 2019 screened"
echo "   against them (exit status 1 is expected: some new construction has no approval in force)"
"$N" import "$REG" "$SEEDS/2020-12-31.gpkg" --layer approvals --profile pzyd --as-of 2020-12-31 --registrar demo
"$N" import "$REG" "$SEEDS/2020-12-31.gpkg" --layer mining --profile kyq --as-of 2020-12-31 --registrar demo
"$N" screen "$REG" --from 2019-12-31 --to 2020-12-31 --region 330523 --patches "$OUT/screen-patches.gpkg" \
  --format xlsx --out "$OUT/screen-330523.xlsx" || test $? -eq 1
"$N" screen "$REG" --from 2019-12-31 --to 2020-12-31 --region 330523 --store || test $? -eq 1
echo "== the suspect patch followed: checked in the field (违法), being rectified"
PATCH=$("$N" patch list "$REG" --step 待核查 --format json | sed -n 's/.*"patch_id": "\(JC[^"]*\)".*/\1/p' | head -1)
"$N" patch set "$REG" "$PATCH" --step 已核查 --result 违法 --date 2021-03-01 --by demo --note "未取得采矿许可，开采中"
"$N" patch set "$REG" "$PATCH" --step 整改中 --date 2021-03-15 --by demo --note "责令停止开采，限期复绿"
"$N" patch list "$REG"

echo "== outgoing audit (离任审计) of the county head for the same period: indicators, score, new findings, report"
"$N" audit "$REG" --official 张三 --post 县长 --region 330523 --from 2019-12-31 --to 2020-12-31 \
  --targets "$SEEDS/targets.toml" --forest-changes "$SEEDS/forest-changes.csv" --water "$SEEDS/water.csv" \
  --out "$OUT/audit-330523.html" --xlsx "$OUT/audit-330523.xlsx"

echo "== done: registry $REG (open it in QGIS), exports in $OUT/export/, findings in $OUT/findings.gpkg, book pages in $OUT/,"
echo "   balance sheet workbook $OUT/balance-330523.xlsx, changed pieces $OUT/balance-trace.gpkg"
echo "   screening: suspect patches $OUT/screen-patches.gpkg, workbook $OUT/screen-330523.xlsx"
echo "   audit report: $(cd "$OUT" && pwd)/audit-330523.html (workbook audit-330523.xlsx)"
echo "== serve the registry to the bureau (OGC API – Features for QGIS and GDAL; Ctrl-C stops it):"
echo "   $N serve $REG --listen 127.0.0.1:8080"
echo "   then open http://127.0.0.1:8080/ (QGIS: Add WFS / OGC API – Features Layer, URL http://127.0.0.1:8080/)"
