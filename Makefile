# ngx_http_persona_module
#
#   make build   build/ngx_http_persona_module.so against the system nginx
#   make test    core unit tests, fuzz corpus replay, nginx integration tests
#   make demo    run the demo site on 127.0.0.1:8080 (foreground)
#   make fuzz    run every libFuzzer target for FUZZ_RUNS executions each
#   make bench   print benchmark figures (not a test)
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

.PHONY: FORCE all build deps-build deps-test unit fuzz-replay fuzz integration \
        test demo bench clean

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

$(NGX_BUILD)/Makefile: config $(BUILD)/srclist
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && bash -c '. ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR)' > configure.log 2>&1 \
	    || { tail -30 $(NGX_BUILD)/configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/Makefile $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR)
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

demo: build
	@scripts/deps demo
	@scripts/demo $(CURDIR)

bench: build
	@scripts/deps bench
	@scripts/bench-scan
	@PERSONA_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX) \
	    scripts/bench

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
