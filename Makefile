# sumsync: build, test, demo, install, bench.
#   make demo   start a small local hierarchy on loopback and show it working
#   make test   everything CI runs (unit, integration, real journald, unit-file checks, real systemd)
SHELL := /bin/bash
PREFIX ?= /usr
DESTDIR ?=
BINDIR := $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
DOCDIR ?= $(PREFIX)/share/doc/sumsync
SYSCONFDIR ?= /etc
SWIFT ?= swift
SWIFT_FLAGS ?=
CONFIGURATION ?= debug
BIN_DIR = $(shell $(SWIFT) build -c $(CONFIGURATION) $(SWIFT_FLAGS) --show-bin-path)

# System packages the build and tests need: the libsystemd headers, SQLite, systemd's tools
# (systemd-analyze, systemd-journald, journalctl), util-linux (setpriv, unshare) and debootstrap.
# libxml2 and the decompressors read RPM repositories' metadata; gpgv checks their signatures; createrepo-c,
# its Python bindings, python3-rpm, zstd, gnupg and xmllint make and check the tests' repositories.
DEB_PACKAGES := libsystemd-dev libsqlite3-dev zlib1g-dev sqlite3 systemd util-linux debootstrap pkg-config openssl curl \
  libxml2-dev liblzma-dev libzstd-dev libbz2-dev gpgv gnupg createrepo-c python3-createrepo-c python3-rpm zstd \
  xz-utils bzip2 libxml2-utils

.PHONY: all build test test-unit test-systemd demo install bench deps format-check clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing missing packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing packages: $$missing"; \
	    echo "Run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

# The metrics test parses /metrics with the reference Prometheus text-format parser; the osv tests
# score CVSS vectors with the reference implementation (PyPI: cvss).
	@python3 -c 'import prometheus_client, cvss' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then python3 -m pip install -q --root-user-action=ignore prometheus-client cvss \
	    || python3 -m pip install -q --root-user-action=ignore --break-system-packages prometheus-client cvss; \
	  else echo "Run: python3 -m pip install --user prometheus-client cvss"; exit 1; fi; }

build: deps
	$(SWIFT) build -c $(CONFIGURATION) $(SWIFT_FLAGS)

test: deps
	SWIFT=$(SWIFT) ./scripts/format-check
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	# One test at a time: the integration tests start real daemons on loopback ports, and two
	# 2-core-heavy suites at once only race each other for ports and CPU.
	# A failure ends with a short summary (failed tests, fatal error, the tests a crash stopped); a crash
	# of the test process is reported and the run repeated once (see scripts/swift-tests).
	SWIFT=$(SWIFT) ./scripts/swift-tests $(SWIFT_FLAGS)
	$(MAKE) test-systemd

test-systemd: deps
	@if [ "$$(id -u)" != 0 ]; then echo "test-systemd: SKIPPED: needs root to boot systemd in an isolated root"; exit 0; fi; \
	if [ -x Tests/systemd/run ]; then Tests/systemd/run; else echo "test-systemd: SKIPPED: Tests/systemd/run not present yet"; fi

demo: build
	./scripts/demo "$(BIN_DIR)"

bench: deps
	./scripts/bench

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sumsync $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(DOCDIR)/docs
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 0755 $(BIN_DIR)/sumsyncd $(BIN_DIR)/sumsyncctl $(DESTDIR)$(BINDIR)/
	sed 's|/usr/bin/|$(BINDIR)/|g' systemd/sumsyncd@.service > $(DESTDIR)$(UNITDIR)/sumsyncd@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sumsyncd@.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/sumsync/hierarchy.toml ] || install -m 0644 config/hierarchy.toml $(DESTDIR)$(SYSCONFDIR)/sumsync/hierarchy.toml
	if [ -f systemd/sumsync.catalog ]; then install -m 0644 systemd/sumsync.catalog $(DESTDIR)$(CATALOGDIR)/sumsync.catalog; fi
	if [ -z "$(DESTDIR)" ] && [ -f systemd/sumsync.catalog ]; then journalctl --update-catalog; fi

format-check:
	SWIFT=$(SWIFT) ./scripts/format-check

clean:
	$(SWIFT) package clean
