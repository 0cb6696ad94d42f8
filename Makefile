# sumsync: build, test, demo, install, package, bench.
#   make demo   start a small local hierarchy on loopback and show it working
#   make test   everything CI runs (unit, integration, real journald, unit-file checks, packages, real systemd)
#   make install / make deb / make rpm   a release build with the Swift standard library linked statically
SHELL := /bin/bash
PREFIX ?= /usr
DESTDIR ?=
BINDIR := $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
DOCDIR ?= $(PREFIX)/share/doc/sumsync
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
SYSCONFDIR ?= /etc
SWIFT ?= swift
SWIFT_FLAGS ?=
# `make build` and the tests: a debug build in .build.
CONFIGURATION ?= debug
BIN_DIR = $(shell $(SWIFT) build -c $(CONFIGURATION) $(SWIFT_FLAGS) --show-bin-path)
# What servers get (`make install`, `make deb`, `make rpm`): a release build with the Swift standard library,
# Foundation and Dispatch linked statically, so no Swift toolchain is needed where it runs; no $ORIGIN rpath
# (the binaries load only the system's C libraries); bound at load time (-z now, with the default RELRO).
RELEASE_FLAGS := -c release --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now \
  --scratch-path .build-static $(SWIFT_FLAGS)
# Man pages and completions, made from the release binaries and docs/configuration.md.
GENERATED := .build-static/generated
VERSION := $(shell cat VERSION)
# The man pages' date: the last commit's (reproducible), else today.
MAN_DATE := $(shell git log -1 --format=%cs 2>/dev/null || date +%F)

# System packages the build and tests need: the libsystemd headers, SQLite, systemd's tools
# (systemd-analyze, systemd-journald, journalctl), util-linux (setpriv, unshare) and debootstrap.
# libxml2 and the decompressors read RPM repositories' metadata; gpgv checks their signatures; createrepo-c,
# its Python bindings, python3-rpm, zstd, gnupg and xmllint make and check the tests' repositories.
DEB_PACKAGES := libsystemd-dev libsqlite3-dev zlib1g-dev sqlite3 systemd util-linux debootstrap pkg-config openssl curl \
  libxml2-dev liblzma-dev libzstd-dev libbz2-dev gpgv gnupg createrepo-c python3-createrepo-c python3-rpm zstd \
  xz-utils bzip2 libxml2-utils

.PHONY: all build release man completions test test-unit test-systemd test-package test-network fuzz demo install install-files deb rpm \
  bench deps package-deps install-deb-packages format-check clean

all: build

deps:
	@$(MAKE) --no-print-directory install-deb-packages PACKAGES="$(DEB_PACKAGES)"
# The metrics test parses /metrics with the reference Prometheus text-format parser; the osv tests
# score CVSS vectors with the reference implementation (PyPI: cvss).
	@python3 -c 'import prometheus_client, cvss' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then python3 -m pip install -q --root-user-action=ignore prometheus-client cvss \
	    || python3 -m pip install -q --root-user-action=ignore --break-system-packages prometheus-client cvss; \
	  else echo "Run: python3 -m pip install --user prometheus-client cvss"; exit 1; fi; }

# What `make deb`, `make rpm` and `make test-package` need besides.
package-deps:
	@$(MAKE) --no-print-directory install-deb-packages PACKAGES="$(PACKAGE_DEB_PACKAGES)"

install-deb-packages:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing missing packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing packages: $$missing"; \
	    echo "Run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

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
	./scripts/fuzz --seconds 20
	$(MAKE) test-package
	$(MAKE) test-network
	$(MAKE) test-systemd

# The packages: lintian's result, the RPM's scripts, requires and payload against the .deb's, the man pages
# rendered by man, the completions run by bash, zsh and fish (Tests/package/run).
test-package: deps
	@if [ "$$(id -u)" != 0 ]; then echo "test-package: SKIPPED: needs root to install debhelper, lintian, rpm and the shells (make package-deps)"; exit 0; fi; \
	$(MAKE) --no-print-directory package-deps && Tests/package/run

# The 1 + 2 + 4 hierarchy with each site in its own network namespace, links failed by nftables rules
# (Tests/network/run): the release daemons, a 500,000-update catalog (NETWORK_COUNT).
NETWORK_DEB_PACKAGES := iproute2 nftables curl sqlite3
NETWORK_COUNT ?= 500000
test-network: deps
	@if [ "$$(id -u)" != 0 ]; then echo "test-network: SKIPPED: needs root for network namespaces and nftables"; exit 0; fi; \
	$(MAKE) --no-print-directory install-deb-packages PACKAGES="$(NETWORK_DEB_PACKAGES)" && \
	$(MAKE) --no-print-directory release && \
	$(SWIFT) build $(SWIFT_FLAGS) --product sumsync-bench && \
	Tests/network/run --bin .build-static/release --tools $(BIN_DIR) --count $(NETWORK_COUNT) $(NETWORK_SCENARIOS)

test-systemd: deps
	@if [ "$$(id -u)" != 0 ]; then echo "test-systemd: SKIPPED: needs root to boot systemd in an isolated root"; exit 0; fi; \
	if [ -x Tests/systemd/run ]; then Tests/systemd/run; else echo "test-systemd: SKIPPED: Tests/systemd/run not present yet"; fi

demo: build
	./scripts/demo "$(BIN_DIR)"

# libFuzzer targets of the parsers of outside input (scripts/fuzz; docs/testing.md, "Fuzzing").
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	./scripts/fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: deps
	./scripts/bench

# The binaries servers run: release, static Swift runtime (see RELEASE_FLAGS).
release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product sumsyncd
	$(SWIFT) build $(RELEASE_FLAGS) --product sumsyncctl

# sumsyncctl(1) and sumsyncd(8) from swift-argument-parser's manual generator, hierarchy.toml(5) from
# docs/configuration.md (scripts/md2man): written from the code, not twice. The generator plugin builds and
# reads the debug binaries (`swift package` cannot pass --static-swift-stdlib to its build, and the pages are
# the same for any build), so it reuses the build `make test` made.
man: release
	@$(MAKE) --no-print-directory $(GENERATED)/man/.made

$(GENERATED)/man/.made: .build-static/release/sumsyncd .build-static/release/sumsyncctl docs/configuration.md VERSION scripts/md2man
	@mkdir -p $(GENERATED)/man
	for section in 1 8; do \
	  $(SWIFT) package $(SWIFT_FLAGS) plugin generate-manual --configuration debug --section $$section --date $(MAN_DATE) \
	    --authors "sumsync developers<sumsync@example.org>" >>$(GENERATED)/man/generate-manual.log || exit 1; \
	done
	cp .build/plugins/GenerateManual/outputs/sumsyncctl/sumsyncctl.1 $(GENERATED)/man/
	cp .build/plugins/GenerateManual/outputs/sumsyncd/sumsyncd.8 $(GENERATED)/man/
	./scripts/md2man docs/configuration.md --version $(VERSION) --date $(MAN_DATE) >$(GENERATED)/man/hierarchy.toml.5
	touch $@

# bash, zsh and fish completions from swift-argument-parser; `--site` completes the config's site codes. The
# bash script is sourced, not run: its #! line goes.
completions: release
	@$(MAKE) --no-print-directory $(GENERATED)/completions/.made

$(GENERATED)/completions/.made: .build-static/release/sumsyncd .build-static/release/sumsyncctl
	@mkdir -p $(GENERATED)/completions
	for tool in sumsyncd sumsyncctl; do \
	  .build-static/release/$$tool --generate-completion-script bash | sed '1{/^#!/d}' >$(GENERATED)/completions/$$tool.bash && \
	  .build-static/release/$$tool --generate-completion-script zsh >$(GENERATED)/completions/_$$tool && \
	  .build-static/release/$$tool --generate-completion-script fish >$(GENERATED)/completions/$$tool.fish || exit 1; \
	done
	touch $@

# Everything a server gets, from a release build; then the journal learns the catalog.
install: install-files
	if [ -z "$(DESTDIR)" ] && [ -f systemd/sumsync.catalog ]; then journalctl --update-catalog; fi
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# The files alone, into DESTDIR (the packages' payload: debian/rules and rpm/sumsync.spec use this). The
# installed unit names the man pages installed with it (the tree's own does not: systemd-analyze verify
# looks them up).
install-files: release man completions
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sumsync $(DESTDIR)$(CATALOGDIR) \
	  $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0644 README.md debian/copyright $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 0755 .build-static/release/sumsyncd .build-static/release/sumsyncctl $(DESTDIR)$(BINDIR)/
	sed -e 's|/usr/bin/|$(BINDIR)/|g' -e 's|^Documentation=|Documentation=man:sumsyncd(8) man:hierarchy.toml(5) |' \
	  systemd/sumsyncd@.service > $(DESTDIR)$(UNITDIR)/sumsyncd@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sumsyncd@.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/sumsync/hierarchy.toml ] || install -m 0644 config/hierarchy.toml $(DESTDIR)$(SYSCONFDIR)/sumsync/hierarchy.toml
	install -m 0644 systemd/sumsync.catalog $(DESTDIR)$(CATALOGDIR)/sumsync.catalog
	install -m 0644 $(GENERATED)/man/sumsyncctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(GENERATED)/man/hierarchy.toml.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(GENERATED)/man/sumsyncd.8 $(DESTDIR)$(MANDIR)/man8/
	for tool in sumsyncd sumsyncctl; do \
	  install -m 0644 $(GENERATED)/completions/$$tool.bash $(DESTDIR)$(BASHCOMPDIR)/$$tool && \
	  install -m 0644 $(GENERATED)/completions/_$$tool $(DESTDIR)$(ZSHCOMPDIR)/_$$tool && \
	  install -m 0644 $(GENERATED)/completions/$$tool.fish $(DESTDIR)$(FISHCOMPDIR)/$$tool.fish || exit 1; \
	done

# A Debian package, built by debhelper from debian/ (in a copy of it, so the tree stays clean):
# .build-deb/sumsync_VERSION_ARCH.deb. debian/changelog's version must be VERSION's.
deb: deps package-deps release man completions
	@[ "$$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$(VERSION)" ] || { \
	  echo "make deb: debian/changelog is at $$(dpkg-parsechangelog -l debian/changelog -S Version), VERSION at $(VERSION): add a changelog entry (dch -v $(VERSION))" >&2; exit 1; }
	@$(MAKE) --no-print-directory .build-deb/.made
	@ls .build-deb/*.deb

# Built again only when something it holds changed (make test-package and make test-systemd both want it).
DEB_INPUTS := $(wildcard debian/* debian/source/* systemd/* config/* docs/*.md) README.md VERSION Makefile \
  .build-static/release/sumsyncd .build-static/release/sumsyncctl $(GENERATED)/man/.made $(GENERATED)/completions/.made
.build-deb/.made: $(DEB_INPUTS)
	rm -rf .build-deb && mkdir -p .build-deb/src
	cp -r debian .build-deb/src/
	cd .build-deb/src && REPO=$(CURDIR) DEB_DESTDIR=$(CURDIR)/.build-deb debian/rules binary
	touch $@

# An RPM built by rpmbuild from rpm/sumsync.spec, with the same payload: .build-rpm/RPMS/ARCH/*.rpm.
rpm: deps package-deps release man completions
	rm -rf .build-rpm && mkdir -p .build-rpm
	rpmbuild -bb --define "_topdir $(CURDIR)/.build-rpm" --define "sumsync_version $(VERSION)" \
	  --define "sumsync_source $(CURDIR)" --define "_build_id_links none" rpm/sumsync.spec >.build-rpm/rpmbuild.log 2>&1 \
	  || { tail -30 .build-rpm/rpmbuild.log >&2; exit 1; }
	@ls .build-rpm/RPMS/*/*.rpm

format-check:
	SWIFT=$(SWIFT) ./scripts/format-check

clean:
	$(SWIFT) package clean
	rm -rf .build-static .build-deb .build-rpm .build-fuzz
