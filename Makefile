# nrledger — the only two set-up commands a user needs are `make demo` and `make test`.
# Both install the Debian packages the build needs when they are missing, then build.

DEB_PACKAGES := libgdal-dev libproj-dev proj-data libsqlite3-dev clang libclang-dev pkg-config gdal-bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo
NRLEDGER := target/release/nrledger

.PHONY: demo test deps build seeds bench clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --release --locked

# Build the demo registry from seeds/anji, query it and export its layers into out/demo.
demo: build
	NRLEDGER=$(NRLEDGER) bash seeds/demo.sh out/demo

test: deps
	$(CARGO) test --locked --no-fail-fast

# Rebuild the demo county's seed files (deterministic).
seeds: build
	rm -rf seeds/anji && $(NRLEDGER) gen --out seeds/anji

# Scale benchmarks (generated counties of 100 000 and 1 000 000 parcels); GNU time measures peak memory.
bench: build
	@dpkg -s time >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq time)
	$(CARGO) bench --locked --bench check_scale

clean:
	$(CARGO) clean && rm -rf out
