# ngx_http_persona_module
#
#   make build   build/ngx_http_persona_module.so against the system nginx
#   make test    core unit tests, fuzz corpus replay, nginx integration tests
#   make demo    run the demo site on 127.0.0.1:8080 (foreground; PORT=)
#   make test-browser  the demo in headless chromium (not in make test)
#   make fuzz    run every libFuzzer target for FUZZ_RUNS executions each
#   make bench   print benchmark figures (not a test)
#   make deb     build/libnginx-mod-http-persona_VERSION_ARCH.deb, lintian
#   make test-deb  install that package on this system, test it, purge it
#   make test-asan, test-valgrind, soak: long runs (docs/testing.md)

NGX_SRC   ?= /usr/share/nginx/src
NGINX     ?= /usr/sbin/nginx
BUILD     := build
MODULE    := $(BUILD)/ngx_http_persona_module.so
NGX_BUILD := $(BUILD)/nginx

CORE_SRC  := $(wildcard src/core/*.c)
CORE_HDR  := $(wildcard src/core/*.h)
GLUE_SRC  := $(wildcard src/*.c)
GLUE_HDR  := $(wildcard src/*.h)

CC        ?= cc
CFLAGS_UNIT := -std=gnu99 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
               -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer \
               -Isrc/core
UNIT_SRC  := $(wildcard t/unit/test_*.c)
UNIT_BIN  := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

FUZZ_CC   ?= clang
FUZZ_SRC  := $(wildcard t/fuzz/fuzz_*.c)
FUZZ_BIN  := $(patsubst t/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

PROVE_JOBS ?= 2

# the project's version, also the version of its Debian package
VERSION   ?= 0.2.0

.PHONY: FORCE all build deps-build deps-test unit fuzz-replay fuzz integration \
        test demo test-browser bench clean deb test-deb

all: build

deps-build:
	@scripts/deps build

deps-test:
	@scripts/deps test

build: deps-build $(MODULE)

# nginx's configure runs once per change of the module's "config" file;
# after that only the module's own objects are rebuilt.
# the module's sources are listed when nginx is configured: a new or
# removed file means configuring again
$(BUILD)/srclist: FORCE
	@mkdir -p $(BUILD)
	@echo "$(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR)" > $@.new
	@cmp -s $@.new $@ || mv $@.new $@
	@rm -f $@.new

# Debian's nginx sources write objs/Makefile but no top-level Makefile,
# so a stamp written after a successful configure marks the tree ready
# (a configure that fails half way leaves no stamp and runs again).
$(NGX_BUILD)/configured: config $(BUILD)/srclist
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && bash -c '. ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR)' > configure.log 2>&1 \
	    || { tail -30 $(NGX_BUILD)/configure.log; exit 1; }
	touch $@

$(MODULE): $(NGX_BUILD)/configured $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) \
           $(CORE_HDR)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_persona_module.so $@

# Core unit tests: every t/unit/test_NAME.c links with all of src/core.
$(BUILD)/unit/%: t/unit/%.c $(CORE_SRC) $(CORE_HDR) t/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_UNIT) -o $@ $< $(CORE_SRC) -lcmocka -lm

unit: deps-test $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# libFuzzer targets: t/fuzz/fuzz_NAME.c, seeds in t/fuzz/corpus/NAME/.
$(BUILD)/fuzz/%: t/fuzz/%.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc/core \
	    -o $@ $< $(CORE_SRC) -lm

# The default suite replays the seed corpora (seconds); "make fuzz" explores.
fuzz-replay: deps-test $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	    n=$$(basename $$f); n=$${n#fuzz_}; \
	    echo "== $$f (corpus replay)"; \
	    $$f -runs=0 t/fuzz/corpus/$$n 2>&1 | tail -1; \
	done


integration: build deps-test
	PERSONA_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX) \
	    prove -j$(PROVE_JOBS) -I t/lib t/

test: build unit fuzz-replay integration

# The port is checked first: a busy port is one line, before any build.
PORT ?= 8080

demo:
	@PORT=$(PORT) scripts/demo --check-port
	@scripts/deps demo
	@$(MAKE) --no-print-directory build
	@PORT=$(PORT) scripts/demo $(CURDIR)

# The demo in headless chromium; slow (a browser start or two), so not
# part of "make test".
test-browser: build
	@scripts/deps browser
	@scripts/test-browser $(CURDIR)

bench: build
	@scripts/deps bench
	@scripts/bench-scan
	@PERSONA_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX) \
	    scripts/bench

# The Debian package.  The module is built a second time, in its own
# nginx tree, with the flags Debian builds nginx and its modules with
# (dpkg-buildflags: hardening, -z now, build paths mapped to "." so that
# the package does not depend on where the project is checked out).
# A stamp marks the configured tree, as for the build above.
DEB_NGX    := $(BUILD)/deb/nginx
DEB_MODULE := $(BUILD)/deb/ngx_http_persona_module.so
DEB        := $(BUILD)/libnginx-mod-http-persona_$(VERSION)_$(shell \
              dpkg --print-architecture 2>/dev/null).deb
DEB_FLAGS   = DEB_BUILD_MAINT_OPTIONS=hardening=+bindnow dpkg-buildflags

$(DEB_NGX)/configured: config $(BUILD)/srclist
	@scripts/deps deb
	rm -rf $(DEB_NGX)
	mkdir -p $(BUILD)/deb
	cp -r $(NGX_SRC) $(DEB_NGX)
	cc="$$($(DEB_FLAGS) --get CFLAGS) $$($(DEB_FLAGS) --get CPPFLAGS) -fPIC"; \
	ld="$$($(DEB_FLAGS) --get LDFLAGS) -fPIC"; \
	cd $(DEB_NGX) && bash -c '. ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$$1" --with-ld-opt="$$2" \
	        --add-dynamic-module=$(CURDIR)' configure "$$cc" "$$ld" \
	    > configure.log 2>&1 \
	    || { tail -30 $(DEB_NGX)/configure.log; exit 1; }
	touch $@

$(DEB_MODULE): $(DEB_NGX)/configured \
               $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR)
	$(MAKE) -s -C $(DEB_NGX) -f objs/Makefile modules
	cp $(DEB_NGX)/objs/ngx_http_persona_module.so $@

deb: $(DEB_MODULE)
	@scripts/deps deb
	@scripts/build-deb -m $(DEB_MODULE) -v $(VERSION) -s $(NGX_SRC) \
	    -o $(CURDIR)/$(BUILD)
	@echo "lintian $(DEB)"
	@lintian --fail-on error,warning --display-info $(DEB)

# installs the package on this system with apt-get, checks the system
# nginx with it, removes it: not part of "make test"
test-deb: deb
	PERSONA_DEB=$(CURDIR)/$(DEB) TEST_NGINX_BINARY=$(NGINX) \
	    prove -v -I t/lib t/deb.t

clean:
	rm -rf $(BUILD)

# --- long runs, not part of "make test" (docs/testing.md) ---
# make fuzz [FUZZ_RUNS=n | FUZZ_TIME=s] [FUZZ_TARGETS="scan rule"]
# make test-asan | test-valgrind [TESTS="t/filter.t ..."]
# make soak [SOAK_TIME=s]
FUZZ_RUNS ?= 50000000
FUZZ_TIME ?= 0
SOAK_TIME ?= 600

.PHONY: test-asan build-asan test-valgrind build-memcheck soak

fuzz:
	@scripts/deps fuzz
	@$(MAKE) -s $(FUZZ_BIN)
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_TIME=$(FUZZ_TIME) \
	    scripts/fuzz $(CURDIR) $(FUZZ_TARGETS)

build-asan: deps-build
	@scripts/deps asan
	@scripts/build-nginx asan $(CURDIR)

test-asan: build-asan
	@scripts/test-asan $(CURDIR) $(TESTS)

build-memcheck: deps-build
	@scripts/deps valgrind
	@scripts/build-nginx memcheck $(CURDIR)

test-valgrind: build build-memcheck
	@scripts/test-valgrind $(CURDIR) $(TESTS)

soak: build
	@scripts/deps soak
	@SOAK_TIME=$(SOAK_TIME) PERSONA_MODULE=$(CURDIR)/$(MODULE) \
	    TEST_NGINX_BINARY=$(NGINX) scripts/soak $(CURDIR)
