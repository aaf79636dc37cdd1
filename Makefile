# nrledger — the only two set-up commands a user needs are `make demo` and `make test`.
# Both install the Debian packages they need when missing (make test also headless Chromium for the
# page-printing tests), then build.

# what the build needs; the tests also print pages with headless Chromium (CJK fonts, pdfinfo/pdftotext)
DEB_PACKAGES := libgdal-dev libgeos-dev libproj-dev proj-data libsqlite3-dev clang libclang-dev pkg-config gdal-bin
TEST_PACKAGES := chromium poppler-utils fonts-noto-cjk curl systemd python3-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo
NRLEDGER := target/release/nrledger

.PHONY: demo test fuzz deps web test-deps install build deb deb-check test-deb seeds bench bench-peers bench-province bench-serve bench-deps clean

deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(DEB_PACKAGES)"
	@$(MAKE) --no-print-directory web

# The browser map's library, MapLibre GL JS, pinned in web/package-lock.json and compiled into the binary
# (nothing is fetched at run time); npm comes from Debian where the machine has none.
MAPLIBRE := web/node_modules/maplibre-gl/dist/maplibre-gl.js
web: $(MAPLIBRE)
$(MAPLIBRE): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory install PACKAGES="npm"
	cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# GDAL's GeoPackage validator (validate_gpkg.py of gdal-utils; pure Python, it needs no GDAL bindings, hence
# --no-deps) checks every GeoPackage the tests write
TEST_VENV := target/test-venv
# the service's tests: the OpenAPI document validated, and OWSLib as a second OGC API client
SERVE_CLIENTS := openapi-spec-validator==0.8.5 OWSLib==0.35.0
test-deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(DEB_PACKAGES) $(TEST_PACKAGES)"
	@$(MAKE) --no-print-directory web
	@[ -x $(TEST_VENV)/bin/python ] || python3 -m venv $(TEST_VENV)
	@$(TEST_VENV)/bin/python -c "import osgeo_utils.samples.validate_gpkg" 2>/dev/null || $(TEST_VENV)/bin/pip install -q --no-deps gdal-utils==3.13.3.0
	@$(TEST_VENV)/bin/python -c "import openapi_spec_validator, owslib" 2>/dev/null || $(TEST_VENV)/bin/pip install -q $(SERVE_CLIENTS)
	@$(MAKE) --no-print-directory $(GEOS_SUITE)/TestValid.xml

# GEOS's own validity and overlay suites (tests/xmltester of the GEOS source), against which the tests check
# nrledger's verdicts and intersection areas: taken from Debian's source package of the GEOS the build links,
# with apt-get's own lists under target/ (the machine's apt sources, as deb-src; nothing of the system changed)
GEOS_SUITE := target/geos-xmltester
DEBSRC := target/debsrc
$(GEOS_SUITE)/TestValid.xml:
	@rm -rf $(DEBSRC) && mkdir -p $(DEBSRC)/lists/partial $(GEOS_SUITE)
	@if [ -f /etc/apt/sources.list.d/debian.sources ]; then \
	  sed 's/^Types: deb$$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > $(DEBSRC)/sources.sources; \
	  echo > $(DEBSRC)/sources.list; \
	else \
	  grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > $(DEBSRC)/sources.list; \
	fi
	@cd $(DEBSRC) && APT="-o Dir::Etc::SourceParts=$$PWD -o Dir::Etc::sourcelist=$$PWD/sources.list -o Dir::State::Lists=$$PWD/lists" && \
	  $(SUDO) apt-get $$APT update -qq && $(SUDO) apt-get $$APT source --download-only -qq geos >/dev/null
	@tar xjf $(DEBSRC)/geos_*.orig.tar.* -C $(DEBSRC) --wildcards '*/tests/xmltester/tests/general/TestValid.xml' \
	  '*/tests/xmltester/tests/general/TestValid2.xml' '*/tests/xmltester/tests/general/TestNGOverlayA.xml' \
	  '*/tests/xmltester/tests/general/TestOverlayAA.xml'
	@cp $(DEBSRC)/geos-*/tests/xmltester/tests/general/*.xml $(GEOS_SUITE)/

# apt-get install whichever of $(PACKAGES) is missing
install:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --release --locked

# The Debian package (target/debian/nrledger_*.deb): the binary, a systemd unit for `nrledger serve` run by its
# own user (debian/nrledger.service), its settings in /etc/default/nrledger. cargo-deb is installed when missing.
CARGO_DEB_VERSION := 3.8.0
deb: deps
	@command -v cargo-deb >/dev/null 2>&1 || $(CARGO) install --locked cargo-deb --version $(CARGO_DEB_VERSION)
	$(CARGO) deb --locked
	@ls -1 target/debian/*.deb

# Install the package on this machine and check it (debian/check.sh: user, settings, unit verified, served as
# its ExecStart does, stopped by SIGTERM), then remove it. As root, on a build machine.
deb-check: deb
	sh debian/check.sh

# CI's package check without a second build: the binary `make test` built and tested (target/debug), packaged as
# `make deb` packages the release one (cargo-deb warns that it is not a release profile), then deb-check's
# script. Run after `make test`.
test-deb: test-deps
	@command -v cargo-deb >/dev/null 2>&1 || $(CARGO) install --locked cargo-deb --version $(CARGO_DEB_VERSION)
	@[ -x target/debug/nrledger ] || { echo "make test-deb packages the binary make test built: run make test first"; exit 2; }
	$(CARGO) deb --locked --profile dev --no-build -o target/debian-test/
	$(SUDO) sh debian/check.sh "$$(ls -1t target/debian-test/nrledger_*.deb | head -n 1)"

# Build the demo registry from seeds/anji, query it and export its layers into out/demo.
demo: build
	NRLEDGER=$(NRLEDGER) bash seeds/demo.sh out/demo

test: test-deps
	$(CARGO) test --locked --no-fail-fast --features fault-injection

# The property harness over the import path (hostile GeoJSON and corrupted Shapefiles) with many more cases
# than `make test` runs (24 per property there): FUZZ_CASES per property, 2000 by default.
FUZZ_CASES ?= 2000
fuzz: test-deps
	NRLEDGER_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --locked --features fault-injection --test suite hostile_sources -- --nocapture

# Rebuild the demo county's seed files (deterministic).
seeds: build
	$(NRLEDGER) gen --out seeds/anji

# Benchmarks (not part of the test suite). The scale benches time import, check and the balance sheet on
# generated counties of 100 000 and 1 000 000 parcels per vintage (GNU time measures peak memory). The peer
# bench (benches/peers/run.py) does the same six steps in nrledger, GeoPandas (PyPI, in a virtualenv) and
# PostGIS (Debian; a throw-away cluster on 127.0.0.1 it starts and stops), compares the answers and prints
# the ratio tables of the README. NRLEDGER_PEER_SIZES=100000 limits it to the county of 100 000 parcels.
# benches/peers/province.py streams a province of PROVINCE_PARCELS parcels county by county.
BENCH_PACKAGES := time postgresql postgresql-15-postgis-3 python3-venv
VENV := target/bench-venv

bench: build bench-deps
	$(CARGO) bench --locked --bench check_scale
	$(CARGO) bench --locked --bench balance_scale
	python3 benches/peers/run.py
	python3 benches/peers/province.py --parcels $(PROVINCE_PARCELS)

# HARD=1: the hard county (red lines drawn independently of the parcels, a new data year on every parcel).
bench-peers: build bench-deps
	python3 benches/peers/run.py $(if $(HARD),--hard)

# The province (five 湖州 counties) imported county by county and checked streamed by county; nrledger only.
PROVINCE_PARCELS ?= 10000000
bench-province: build bench-deps
	python3 benches/peers/province.py --parcels $(PROVINCE_PARCELS)

# The service under a bounded loopback load (benches/serve/load.py): nrledger serve against pygeoapi (PyPI, in
# target/serve-venv) and martin (crates.io, in target/bench-tools; 1.14 is the last for this Rust), both over a
# throw-away PostGIS cluster, on the county of SERVE_PARCELS parcels per vintage.
SERVE_PARCELS ?= 1000000
SERVE_VENV := target/serve-venv
MARTIN := target/bench-tools/bin/martin
bench-serve: build bench-deps $(MARTIN)
	@[ -x $(SERVE_VENV)/bin/python ] || python3 -m venv $(SERVE_VENV)
	@$(SERVE_VENV)/bin/pip install -q -r benches/serve/requirements.txt
	python3 benches/serve/load.py --parcels $(SERVE_PARCELS)

$(MARTIN):
	$(CARGO) install --locked martin@1.14.0 --no-default-features --features postgres --root target/bench-tools

bench-deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(BENCH_PACKAGES)"
	@[ -x $(VENV)/bin/python ] || python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q -r benches/peers/requirements.txt

clean:
	$(CARGO) clean && rm -rf out
