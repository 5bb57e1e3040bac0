# postern - top-level Makefile (GNU make, parallel-safe).
#
#   make          build every program into build/
#   make test     install missing Debian packages, build, run unit and
#                 end-to-end tests, print a summary line
#   make asan     the same with AddressSanitizer and UBSan, in build-asan/
#   make run      build, create ./run (postern init) when absent, start the
#                 instance in the foreground
#   make install  PREFIX (default /usr/local) and DESTDIR honoured; also the
#                 manual pages (MANDIR) and the systemd unit (UNITDIR)
#   make man      the manual pages, from the sources, into build/man
#   make deb      the Debian package (debian/), in build/deb/
#   make deps     install the Debian packages the build and tests need
#   make bench    benchmarks side by side with Postfix (bench/run)
#   make fuzz     coverage-guided fuzzing of the parsers (clang, libFuzzer),
#                 FUZZ_SECONDS per harness; new inputs join fuzz/corpus/

PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
LIBEXECDIR  ?= $(PREFIX)/libexec/postern
SYSCONFDIR  ?= /etc/postern
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
DESTDIR     ?=

B           ?= build
CC          ?= cc
PKGS        := openssl libcares libseccomp libpcre2-8
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS:= $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS  := $(shell pkg-config --libs check 2>/dev/null)

# lib/ in layers, lowest first: a module may include its own layer's
# headers and those of the layers before it, never one after it
# (tools/check-layers, run before the library is built).
LAYERS      := util ipc tls mail table svc
LIB_INC     := $(foreach l,$(LAYERS),-Ilib/$(l))

OPT         ?= -O2
SAN         ?=
CFLAGS_BASE := -std=c17 $(OPT) -g -D_GNU_SOURCE -MMD -MP $(LIB_INC) $(PKG_CFLAGS) \
               -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
               -Wshadow -Wformat=2 -Wformat-security -Wpointer-arith \
               -Wno-format-nonliteral \
               -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE \
               -DSYSCONFDIR='"$(SYSCONFDIR)"' $(SAN)
LDFLAGS_BASE:= -pie -Wl,-z,relro,-z,now $(SAN)
LDLIBS      := $(PKG_LIBS) -ldb -lcrypt

# Every daemon lives in its own directory; user commands live in cmd/.
DAEMONS     := master smtpd cleanup lookup qmgr local pickup showq smtp discard error auth anvil
COMMANDS    := postern sendmail postdrop postqueue postsuper postmap postalias postcat postconf

LIB_SRC     := $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.c))
LIB_OBJ     := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC))
LIBA        := $(B)/libpostern.a

daemon_src   = $(filter-out $(1)/$(1)_main.c,$(wildcard $(1)/*.c))
DAEMON_BINS := $(foreach d,$(DAEMONS),$(if $(wildcard $(d)/$(d).c),$(B)/libexec/$(d)))
CMD_BINS    := $(foreach c,$(COMMANDS),$(if $(wildcard cmd/$(c).c),$(B)/bin/$(c)))

UNIT_SRC    := $(wildcard tests/unit/*_test.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

.PHONY: all test unit e2e asan run install deps bench clean fuzz man names deb deb-test programs
TEST_BINS   := $(B)/tests/libexec/testsvc $(B)/tests/libexec/racer
FUZZ_NAMES  := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS   := $(patsubst %,$(B)/fuzz/%,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60

all: $(LIBA) $(DAEMON_BINS) $(CMD_BINS) $(UNIT_BINS) $(TEST_BINS) $(FUZZ_BINS) $(B)/man/.stamp $(if $(wildcard cmd/sendmail.c),$(B)/bin/mailq $(B)/bin/newaliases)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ) $(B)/layers.ok
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $(LIB_OBJ)

$(B)/layers.ok: tools/check-layers $(filter-out $(addprefix lib/,$(LAYERS)),$(wildcard lib/* lib/*/*))
	@mkdir -p $(dir $@)
	tools/check-layers $(LAYERS) && touch $@

# A daemon is every .c in its directory; files other than DIR/DIR.c hold
# logic that unit tests link directly (see tests/unit).
define daemon_rule
$(B)/libexec/$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard $(1)/*.c)) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_BASE) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))

# A command is cmd/NAME.c plus any cmd/NAME_*.c helpers.  postdrop stays
# set-group-id postdrop across rebuilds by root, so instances made with
# postern init from this tree keep working (postern check wants it so).
define cmd_rule
$(B)/bin/$(1): $(patsubst %.c,$(B)/obj/%.o,cmd/$(1).c $(wildcard cmd/$(1)_*.c)) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_BASE) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
	$(if $(filter postdrop,$(1)),@if [ "$$$$(id -u)" = 0 ] && getent group postdrop >/dev/null; then chgrp postdrop $$@ && chmod 2755 $$@; fi)
endef
$(foreach c,$(COMMANDS),$(eval $(call cmd_rule,$(c))))

$(B)/bin/mailq $(B)/bin/newaliases: $(B)/bin/sendmail
	ln -sf sendmail $@

# A unit test tests/unit/X_test.c links the library.  When X is not a lib
# module (no lib/LAYER/X.c) and starts with a daemon's name (smtpd_data_test), it
# also links that daemon's objects except its main file DIR/DIR.o.
unit_dir = $(firstword $(subst _, ,$(1)))
unit_deps = $(if $(wildcard lib/*/$(patsubst %_test,%,$(1)).c),,$(filter-out $(B)/obj/$(call unit_dir,$(1))/$(call unit_dir,$(1)).o,$(patsubst %.c,$(B)/obj/%.o,$(wildcard $(call unit_dir,$(1))/*.c))))
# A unit test tests/unit/CMD_X_test.c of a command's logic links the
# command's helper objects cmd/CMD_*.o (never cmd/CMD.o, which holds main).
cmd_unit_deps = $(patsubst %.c,$(B)/obj/%.o,$(wildcard cmd/$(firstword $(subst _, ,$(1)))_*.c))
define unit_rule
$(B)/tests/$(1): tests/unit/$(1).c $(call unit_deps,$(1)) $(call cmd_unit_deps,$(1)) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_BASE) $$(CFLAGS) -Itests/unit $$(CHECK_CFLAGS) $$(LDFLAGS_BASE) -o $$@ $$(filter %.c %.o %.a,$$^) $$(LDLIBS) $$(CHECK_LIBS)
endef
$(foreach t,$(patsubst tests/unit/%.c,%,$(UNIT_SRC)),$(eval $(call unit_rule,$(t))))

# Test-only programs (not installed).
$(B)/tests/libexec/testsvc: $(B)/obj/tests/testsvc/testsvc.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/libexec/racer: $(B)/obj/tests/testsvc/racer.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_BASE) $(LDFLAGS) -o $@ $^

# Fuzz harnesses: with the replay driver for `make test` (every corpus
# input stays a regression test), with libFuzzer for `make fuzz`.
define fuzz_rule
$(B)/fuzz/$(1): $(B)/obj/fuzz/fuzz_$(1).o $(B)/obj/fuzz/driver.o $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_BASE) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_rule,$(f))))

fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang)"; exit 1; }
	$(MAKE) B=build-fuzz CC=clang OPT=-O1 SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" build-fuzz/libpostern.a $(patsubst %,build-fuzz/obj/fuzz/fuzz_%.o,$(FUZZ_NAMES))
	@for f in $(FUZZ_NAMES); do \
	    clang -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz-$$f build-fuzz/obj/fuzz/fuzz_$$f.o build-fuzz/libpostern.a $(LDLIBS) || exit 1; \
	    mkdir -p fuzz/corpus/$$f; \
	    echo "== fuzzing $$f for $(FUZZ_SECONDS)s"; \
	    build-fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 fuzz/corpus/$$f || exit 1; \
	done

deps:
	@tools/deps

test: deps
	$(MAKE) all
	B=$(B) tests/run

unit: all
	B=$(B) tests/run --unit

e2e: all
	B=$(B) tests/run --e2e

asan: deps
	$(MAKE) B=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 B=build-asan tests/run

run: deps
	$(MAKE) all
	@[ -f run/etc/main.cf ] || $(B)/bin/postern init ./run
	$(B)/bin/postern -c run/etc start-fg

# The Debian package, from a copy of this tree, into $(B)/deb/ (tools/mkdeb:
# installs the packaging tools it needs, builds, runs lintian).
deb:
	@tools/deps deb
	tools/mkdeb $(B)/deb

# The package installed for real in a Debian 12 chroot with exim4
# (tests/e2e/test_deb.py; also part of make test).
deb-test: deps
	@tools/deps deb
	$(MAKE) all
	B=$(B) tests/run --e2e deb

bench: deps
	$(MAKE) all
	bench/run

# What is installed (and packaged): no tests, no fuzzers.
programs: $(LIBA) $(DAEMON_BINS) $(CMD_BINS) $(B)/man/.stamp $(if $(wildcard cmd/sendmail.c),$(B)/bin/mailq $(B)/bin/newaliases)

install: programs
	tools/install "$(DESTDIR)" "$(SBINDIR)" "$(LIBEXECDIR)" "$(SYSCONFDIR)" "$(B)" "$(MANDIR)" "$(UNITDIR)"

# Manual pages from the sources' opening comments and lib/svc/params.def, for
# every program in DAEMONS and COMMANDS that exists (tools/mangen).
MAN_SRC := lib/svc/params.def lib/util/version.h conf/main.cf conf/master.cf tools/mangen \
           $(foreach d,$(DAEMONS),$(wildcard $(d)/$(d).c)) $(foreach c,$(COMMANDS),$(wildcard cmd/$(c).c))
man: $(B)/man/.stamp
$(B)/man/.stamp: $(MAN_SRC) Makefile
	@rm -rf $(B)/man
	tools/mangen -o $(B)/man --daemons "$(DAEMONS)" --commands "$(COMMANDS)" >/dev/null
	@touch $@

# The program lists, for the Debian packaging and the tests.
names:
	@echo "DAEMONS = $(foreach d,$(DAEMONS),$(if $(wildcard $(d)/$(d).c),$(d)))"
	@echo "COMMANDS = $(foreach c,$(COMMANDS),$(if $(wildcard cmd/$(c).c),$(c)))"

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
