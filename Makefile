# nrledger — the only two set-up commands a user needs are `make demo` and `make test`.
# Both install the Debian packages they need when missing (make test also headless Chromium for the
# page-printing tests), then build.

# what the build needs; the tests also print pages with headless Chromium (CJK fonts, pdfinfo/pdftotext)
DEB_PACKAGES := libgdal-dev libproj-dev proj-data libsqlite3-dev clang libclang-dev pkg-config gdal-bin
TEST_PACKAGES := chromium poppler-utils fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo
NRLEDGER := target/release/nrledger

.PHONY: demo test deps test-deps install build seeds bench clean

deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(DEB_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(DEB_PACKAGES) $(TEST_PACKAGES)"

# apt-get install whichever of $(PACKAGES) is missing
install:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --release --locked

# Build the demo registry from seeds/anji, query it and export its layers into out/demo.
demo: build
	NRLEDGER=$(NRLEDGER) bash seeds/demo.sh out/demo

test: test-deps
	$(CARGO) test --locked --no-fail-fast

# Rebuild the demo county's seed files (deterministic).
seeds: build
	$(NRLEDGER) gen --out seeds/anji

# Scale benchmarks (generated counties of 100 000 and 1 000 000 parcels per vintage: import, check, balance
# sheet); GNU time measures peak memory.
bench: build
	@$(MAKE) --no-print-directory install PACKAGES="time"
	$(CARGO) bench --locked --bench check_scale
	$(CARGO) bench --locked --bench balance_scale

clean:
	$(CARGO) clean && rm -rf out
