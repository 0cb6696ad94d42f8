#!/usr/bin/env python3
"""OSV feeds for sumsync's tests and benchmark, zipped with Python's zipfile, and the tests' oracle.

Standard library only, except `oracle`, which scores CVSS vectors with the `cvss` package from PyPI
(RedHatProductSecurity/cvss; .ci/run installs it).

  osv-feed.py testset DIR [--round R]
      Real-shaped records (Debian DSA and DLA, an Ubuntu USN with three releases, AlmaLinux ALSA and ALBA,
      a Rocky RLEA, a Red Hat RHSA with CVSS only, one with no severity, one withdrawn), one DIR/ID.json
      each. Round 2 changes them as a feed does: one modified, one withdrawn, one removed, one new.
  osv-feed.py generate OUT.zip --count N [--seed S] [--change FRACTION --change-seed S]
      A zip of N records shaped like Debian's and Ubuntu's (several affected packages each, indented as
      osv.dev writes them). With --change, that fraction of records has a later `modified` and a newer
      fixed version.
  osv-feed.py zip DIR OUT.zip [--store]
      DIR's *.json zipped (deflated, or stored), in name order.
  osv-feed.py oracle ZIP|DIR --source NAME [--ecosystems E ...]
      The updates the mapping table of docs/sources.md gives, one JSON object per line, sorted by id.
  osv-feed.py craft KIND OUT.zip
      A broken feed, from a zip of two good records: empty (no entries at all), notzip, cut (the file cut in half), damaged (an entry's
      compressed bytes altered), cd-count (a central directory record's signature altered), notjson,
      noid, badmodified, badtype (aliases a string), bomb (an entry of 64 MiB of spaces), traversal
      (../evil.json), endless (a deflate stream that never ends, in the last entry).
  osv-feed.py cvss VECTORS.txt
      The base score of each vector (CVSS v2 or v3.x) by the `cvss` package, one per line.
  osv-feed.py loads ZIP
      Opens the zip and json.loads every entry; prints the seconds it took and the record count (the
      benchmark's baseline).
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

NAMESPACE = uuid.UUID("6f1c2a9e-530b-4d7f-9a41-8e22d35c106b")
PACKAGES = [
    "openssl", "glibc", "curl", "linux", "systemd", "sudo", "vim", "nginx", "apache2", "postgresql-15",
    "mariadb", "firefox-esr", "thunderbird", "git", "zlib", "libxml2", "expat", "openssh", "bind9", "samba",
    "krb5", "policykit-1", "grub2", "python3.11", "ruby3.1", "php8.2", "nodejs", "golang-1.19", "tiff", "imagemagick",
]
UBUNTU = ["Ubuntu:20.04:LTS", "Ubuntu:22.04:LTS", "Ubuntu:24.04:LTS"]
UBUNTU_SUFFIX = {"Ubuntu:20.04:LTS": "20.04", "Ubuntu:22.04:LTS": "22.04", "Ubuntu:24.04:LTS": "24.04"}


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def affected(ecosystem, name, fixed, binaries=None, versions=None):
    entry = {
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
    }
    if versions:
        entry["versions"] = versions
    if binaries:
        entry["ecosystem_specific"] = {
            "binaries": [{"binary_name": b, "binary_version": fixed} for b in binaries],
            "availability": "No subscription required",
        }
    return entry


# ---------------------------------------------------------------------------------------------- testset

def testset(args):
    os.makedirs(args.dir, exist_ok=True)
    second = args.round >= 2
    records = []
    records.append({
        "schema_version": "1.6.0",
        "id": "DSA-5678-1",
        "summary": "openssl security update",
        "details": "Several vulnerabilities were discovered in OpenSSL.\nAn attacker could cause a denial of service.",
        "aliases": ["CVE-2026-0001", "CVE-2026-0002"],
        "published": "2026-03-01T10:00:00Z",
        "modified": "2026-05-01T08:00:00Z" if second else "2026-03-01T10:00:00Z",
        "affected": [
            affected("Debian:12", "openssl", "3.0.15-1~deb12u2" if second else "3.0.15-1~deb12u1"),
            affected("Debian:11", "openssl", "1.1.1w-0+deb11u2"),
        ],
        "references": [
            {"type": "WEB", "url": "https://security-tracker.debian.org/tracker/DSA-5678-1"},
            {"type": "ADVISORY", "url": "https://www.debian.org/security/2026/dsa-5678"},
        ],
        "database_specific": {"severity": "High"},
    })
    records.append({
        "id": "DLA-3456-1",
        "details": "curl could be made to leak credentials.\n\nFor Debian 11 bullseye, this has been fixed.",
        "aliases": ["CVE-2026-1111"],
        "upstream": ["CVE-2026-1112"],
        "published": "2026-02-10T00:00:00Z",
        "modified": "2026-02-10T00:00:00Z",
        "withdrawn": "2026-04-01T00:00:00Z" if second else None,
        "affected": [affected("Debian:11", "curl", "7.74.0-1.3+deb11u12")],
        "references": [{"type": "WEB", "url": "https://security-tracker.debian.org/tracker/DLA-3456-1"}],
    })
    if records[-1]["withdrawn"] is None:
        del records[-1]["withdrawn"]
    records.append({
        "schema_version": "1.7.0",
        "id": "USN-7001-1",
        "summary": "wayland vulnerability",
        "details": "It was discovered that Wayland incorrectly handled reference counting.",
        "aliases": [],
        "upstream": ["UBUNTU-CVE-2026-3782", "CVE-2026-3782"],
        "published": "2026-01-15T16:43:06Z",
        "modified": "2026-01-15T16:43:06.123456Z",
        "severity": [{"type": "Ubuntu", "score": "medium"}],
        "affected": [
            affected(release, "wayland", "1.%d.0-1ubuntu0.%d" % (18 + k, k + 1),
                     ["libwayland-client0", "libwayland-server0"])
            for k, release in enumerate(UBUNTU)
        ],
        "references": [
            {"type": "REPORT", "url": "https://ubuntu.com/security/CVE-2026-3782"},
            {"type": "ADVISORY", "url": "https://ubuntu.com/security/notices/USN-7001-1"},
        ],
    })
    records.append({
        "id": "ALSA-2026:2433",
        "summary": "Moderate: avahi security update",
        "details": "Avahi is a local network service discovery implementation.",
        "published": "2026-04-30T00:00:00Z",
        "modified": "2026-05-02T11:13:44Z",
        "affected": [
            affected("AlmaLinux:9", "avahi", "0.8-20.el9"),
            affected("AlmaLinux:9", "avahi-libs", "0.8-20.el9"),
        ],
        "references": [{"type": "ADVISORY", "url": "https://errata.almalinux.org/9/ALSA-2026-2433.html"}],
        "database_specific": {"severity": "Moderate"},
    })
    records.append({
        "id": "ALBA-2026:0100",
        "summary": "tzdata bug fix and enhancement update",
        "details": "The tzdata packages contain data files with rules for time zones.",
        "published": "2026-01-05T00:00:00Z",
        "modified": "2026-01-05T00:00:00Z",
        "affected": [
            affected("AlmaLinux:8", "tzdata", "2026a-1.el8"),
            affected("AlmaLinux:9", "tzdata", "2026a-1.el9"),
        ],
    })
    records.append({
        "id": "RLEA-2026:1234",
        "summary": "new packages: python3.13",
        "published": "2026-02-20T00:00:00Z",
        "modified": "2026-02-20T00:00:00Z",
        "affected": [affected("Rocky Linux:9", "python3.13", "3.13.1-2.el9")],
    })
    records.append({
        "schema_version": "1.5.0",
        "id": "RHSA-2026:0216",
        "summary": "Red Hat Security Advisory: kernel security update",
        "details": "The kernel packages contain the Linux kernel.",
        "modified": "2026-03-10T09:00:00Z",
        "published": "2026-03-09T00:00:00+02:00",
        "aliases": ["CVE-2026-4000"],
        "severity": [
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
        ],
        "affected": [affected("Red Hat:enterprise_linux:9::baseos", "kernel", "0:5.14.0-427.el9")],
        "references": [{"type": "WEB", "url": "https://access.redhat.com/errata/RHSA-2026:0216"}],
    })
    records.append({
        "id": "DEBIAN-CVE-2026-5000",
        "details": "A flaw in the TIFF decoder.\nSecond line.",
        "published": "2026-02-01T00:00:00Z",
        "modified": "2026-02-01T00:00:00Z",
        "affected": [
            {"package": {"ecosystem": "Debian:12", "name": "tiff"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]},
        ],
    })
    if second:
        # DSA-5678-1 revised (above), DLA-3456-1 withdrawn (above), RLEA-2026:1234 removed, one new.
        records = [r for r in records if r["id"] != "RLEA-2026:1234"]
        records.append({
            "id": "DSA-5700-1",
            "summary": "sudo security update",
            "details": "sudo could be made to run programs as root.",
            "aliases": ["CVE-2026-7000"],
            "published": "2026-05-02T00:00:00Z",
            "modified": "2026-05-02T00:00:00Z",
            "affected": [affected("Debian:12", "sudo", "1.9.13p3-1+deb12u2")],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}],
        })
    for name in os.listdir(args.dir):
        if name.endswith(".json"):
            os.unlink(os.path.join(args.dir, name))
    for record in records:
        with open(os.path.join(args.dir, record["id"] + ".json"), "w") as out:
            json.dump(record, out, indent=2)


# --------------------------------------------------------------------------------------------- generate

def generated(index, rng_seed, changed):
    rng = random.Random(rng_seed * 1000003 + index)
    base = datetime(2019, 1, 1, tzinfo=timezone.utc) + timedelta(hours=index)
    names = rng.sample(PACKAGES, 1 + rng.randrange(3))
    cves = ["CVE-%d-%05d" % (2019 + index % 7, (index * 7 + k) % 100000) for k in range(1 + rng.randrange(4))]
    details = " ".join(rng.choice(["A", "buffer", "overflow", "was", "found", "in", "the", "parser", "which",
                                   "could", "allow", "a", "remote", "attacker", "to", "execute", "code"])
                       for _ in range(20 + rng.randrange(100)))
    bump = 1 if changed else 0
    modified = base + timedelta(days=30 * bump)
    def versions(k):
        # osv.dev lists every released version in the affected range.
        return ["%d.%d-%d" % (1 + k, v // 3, v % 3) for v in range(5 + rng.randrange(40))]

    if index % 2 == 0:
        ecosystems = ["Debian:12"] if index % 4 == 0 else rng.choice([["Debian:11"], ["Debian:11", "Debian:12"]])
        prefix = "DSA" if index % 6 else "DLA"
        record_id = "%s-%d-1" % (prefix, 3000 + index)
        summary = "%s security update" % names[0]
        items = [affected(e, n, "%d.%d-%d+deb%su%d" % (1 + k, index % 50, 1 + k, e[-2:], 1 + bump), None, versions(k))
                 for e in ecosystems for k, n in enumerate(names)]
        record = {"id": record_id, "summary": summary, "details": details, "aliases": cves,
                  "published": stamp(base), "modified": stamp(modified), "affected": items,
                  "references": [{"type": "ADVISORY", "url": "https://www.debian.org/security/%s" % record_id}]}
    else:
        record_id = "USN-%d-1" % (5000 + index)
        releases = UBUNTU[rng.randrange(3):]
        items = [affected(e, n, "%d.%d-0ubuntu0.%s.%d" % (1 + k, index % 50, UBUNTU_SUFFIX[e], 1 + bump),
                          ["%s-bin" % n, "lib%s1" % n], versions(k))
                 for e in releases for k, n in enumerate(names)]
        for item in items:
            item["database_specific"] = {"cves_map": {"ecosystem": item["package"]["ecosystem"], "cves": [
                {"id": c, "severity": [{"type": "Ubuntu", "score": "medium"}]} for c in cves]}}
        record = {"schema_version": "1.7.0", "id": record_id, "summary": "%s vulnerabilities" % names[0],
                  "details": details, "aliases": [], "upstream": ["UBUNTU-" + c for c in cves] + cves,
                  "published": stamp(base), "modified": stamp(modified),
                  "severity": [{"type": "Ubuntu", "score": rng.choice(["low", "medium", "high", "negligible"])}],
                  "affected": items,
                  "references": [{"type": "ADVISORY", "url": "https://ubuntu.com/security/notices/%s" % record_id}]}
    return record


def generate(args):
    changed = set()
    if args.change:
        rng = random.Random(args.change_seed)
        changed = set(rng.sample(range(args.count), int(args.count * args.change)))
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(args.count):
            record = generated(index, args.seed, index in changed)
            archive.writestr(record["id"] + ".json", json.dumps(record, indent=2))


def zip_dir(args):
    method = zipfile.ZIP_STORED if args.store else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(args.out, "w", method) as archive:
        for name in sorted(os.listdir(args.dir)):
            if name.endswith(".json"):
                archive.write(os.path.join(args.dir, name), name)


# ----------------------------------------------------------------------------------------------- oracle

SEVERITY_WORDS = {"critical": "Critical", "important": "Important", "high": "Important",
                  "moderate": "Moderate", "medium": "Moderate", "low": "Low"}
APT = {"Debian", "Ubuntu", "Alpine"}
RPM = {"AlmaLinux", "Rocky Linux", "Red Hat", "SUSE", "openSUSE", "Mageia", "openEuler", "Azure Linux",
       "Oracle Linux", "Photon OS", "CentOS", "Fedora", "openCloudOS", "OpenCloudOS", "TencentOS", "Amazon Linux"}


def read_records(path):
    if os.path.isdir(path):
        for root, _, files in os.walk(path):
            for name in sorted(files):
                if name.endswith(".json"):
                    with open(os.path.join(root, name), "rb") as f:
                        yield json.loads(f.read())
        return
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".json"):
                yield json.loads(archive.read(info))


def epoch_text(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp(moment.astimezone(timezone.utc).replace(microsecond=0))


def cvss_score(entry):
    from cvss import CVSS2, CVSS3
    kind, score = entry.get("type"), entry.get("score", "")
    if kind == "CVSS_V3":
        return float(CVSS3(score).base_score)
    if kind == "CVSS_V2":
        return float(CVSS2(score).base_score)
    return None


def severity_of(record, items):
    word = (record.get("database_specific") or {}).get("severity")
    if isinstance(word, str) and word.strip().lower() in SEVERITY_WORDS:
        return SEVERITY_WORDS[word.strip().lower()]
    for entry in record.get("severity") or []:
        if entry.get("type") == "Ubuntu" and entry.get("score", "").strip().lower() in SEVERITY_WORDS:
            return SEVERITY_WORDS[entry["score"].strip().lower()]
    scores = [cvss_score(e) for e in (record.get("severity") or [])]
    for item in items:
        scores += [cvss_score(e) for e in (item.get("severity") or [])]
    scores = [s for s in scores if s is not None]
    if not scores:
        return None
    best = max(scores)
    return "Critical" if best >= 9.0 else "Important" if best >= 7.0 else "Moderate" if best >= 4.0 else "Low"


def classification_of(record_id):
    prefix = record_id.split("-")[0]
    if prefix in ("RHBA", "ALBA", "RLBA"):
        return "bugfix"
    if prefix in ("RHEA", "ALEA", "RLEA"):
        return "enhancement"
    return "security"


def label(ecosystem, name, version):
    family = ecosystem.split(":")[0]
    if family in APT:
        return "%s=%s" % (name, version)
    if family in RPM:
        return "%s-%s" % (name, version)
    return "%s@%s" % (name, version)


def keeps(ecosystem, wanted):
    if not wanted:
        return True
    return any(ecosystem == w or (w.endswith(":") and ecosystem.startswith(w)) for w in wanted)


def mapped(record, source, wanted):
    ecosystems = []
    for item in record.get("affected") or []:
        ecosystem = item["package"]["ecosystem"]
        if keeps(ecosystem, wanted) and ecosystem not in ecosystems:
            ecosystems.append(ecosystem)
    details = record.get("details")
    summary = record.get("summary")
    first_line = details.split("\n")[0].strip() if details else ""
    title = (summary or "").strip() or first_line or record["id"]
    cves = []
    for alias in (record.get("aliases") or []) + (record.get("upstream") or []):
        if alias.startswith("CVE-") and alias not in cves:
            cves.append(alias)
    references = record.get("references") or []
    url = next((r["url"] for r in references if r.get("type") == "ADVISORY"),
               next((r["url"] for r in references if r.get("type") == "WEB"), None))
    for ecosystem in ecosystems:
        items = [i for i in record["affected"] if i["package"]["ecosystem"] == ecosystem]
        packages = set()
        for item in items:
            for r in item.get("ranges") or []:
                for event in r.get("events") or []:
                    if "fixed" in event:
                        packages.add(label(ecosystem, item["package"]["name"], event["fixed"]))
        yield {
            "id": str(uuid.uuid5(NAMESPACE, "osv\0%s\0%s" % (ecosystem, record["id"]))),
            "product": ecosystem,
            "advisory": record["id"],
            "source": source,
            "title": title,
            "description": details,
            "classification": classification_of(record["id"]),
            "severity": severity_of(record, items),
            "released": epoch_text(record.get("published") or record["modified"]),
            "revised": epoch_text(record["modified"]),
            "expired": bool(record.get("withdrawn")),
            "cves": cves,
            "url": url,
            "packages": sorted(packages),
        }


def oracle(args):
    rows = []
    for record in read_records(args.path):
        rows.extend(mapped(record, args.source, args.ecosystems))
    for row in sorted(rows, key=lambda r: r["id"]):
        print(json.dumps(row, sort_keys=True))


def craft(args):
    import struct
    good = [{"id": "GOOD-1", "modified": "2026-01-01T00:00:00Z", "summary": "first",
             "affected": [affected("Debian:12", "a", "1.0-1")]},
            {"id": "GOOD-2", "modified": "2026-01-01T00:00:00Z", "summary": "second",
             "affected": [affected("Debian:12", "b", "2.0-1")]}]
    kind = args.kind
    if kind == "empty":
        zipfile.ZipFile(args.out, "w").close()
        return
    if kind == "notzip":
        with open(args.out, "w") as out:
            out.write("<html>this is not a zip</html>\n")
        return
    entries = [(r["id"] + ".json", json.dumps(r, indent=2)) for r in good]
    bad = {
        "notjson": ("BAD.json", '{"id": "BAD", "modified": '),
        "noid": ("NOID.json", json.dumps({"modified": "2026-01-01T00:00:00Z", "affected": []})),
        "badmodified": ("BADDATE.json", json.dumps({"id": "BADDATE", "modified": "yesterday"})),
        "badtype": ("BADTYPE.json", json.dumps({"id": "BADTYPE", "modified": "2026-01-01T00:00:00Z",
                                                "aliases": "CVE-2026-1"})),
        "traversal": ("../evil.json", json.dumps(good[0])),
    }
    if kind in bad:
        entries.insert(1, bad[kind])
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries:
            archive.writestr(name, text)
        if kind == "bomb":
            archive.writestr("BOMB.json", "{" + " " * (64 << 20) + "}")
        if kind == "endless":
            # A stored, non-final deflate block that claims more bytes than the file has left; declared
            # as deflated after the fact.
            info = zipfile.ZipInfo("ENDLESS.json")
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, b"\x00" + struct.pack("<HH", 0xFFFF, 0x0000) + b"{" * 16)
    data = bytearray(open(args.out, "rb").read())
    if kind == "cut":
        data = data[: len(data) // 2]
    elif kind == "damaged":
        with zipfile.ZipFile(args.out) as archive:
            info = archive.infolist()[0]
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for k in range(start + 2, start + info.compress_size - 2):
            data[k] ^= 0x5A
    elif kind == "cd-count":
        with zipfile.ZipFile(args.out) as archive:
            infos = archive.infolist()
        directory = data.rfind(b"PK\x01\x02")
        data[directory:directory + 4] = b"PK\x09\x09"
    elif kind == "endless":
        with zipfile.ZipFile(args.out) as archive:
            info = archive.getinfo("ENDLESS.json")
        # Method 8 (deflate) in the local header (offset 8) and the central directory record (offset 10),
        # and a stated size of 65535 bytes in the central directory (offset 24).
        data[info.header_offset + 8:info.header_offset + 10] = struct.pack("<H", 8)
        record = data.rfind(b"PK\x01\x02")
        data[record + 10:record + 12] = struct.pack("<H", 8)
        data[record + 24:record + 28] = struct.pack("<I", 65535)
    with open(args.out, "wb") as out:
        out.write(bytes(data))


def cvss_scores(args):
    from cvss import CVSS2, CVSS3
    for line in open(args.file):
        vector = line.strip()
        score = CVSS3(vector).base_score if vector.startswith("CVSS:3") else CVSS2(vector).base_score
        print("%.1f" % float(score))


def loads(args):
    start = time.perf_counter()
    count = 0
    with zipfile.ZipFile(args.zip) as archive:
        for info in archive.infolist():
            json.loads(archive.read(info))
            count += 1
    print("%.3f %d" % (time.perf_counter() - start, count))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("testset")
    p.add_argument("dir")
    p.add_argument("--round", type=int, default=1)
    p.set_defaults(run=testset)
    p = commands.add_parser("generate")
    p.add_argument("out")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--change", type=float, default=0)
    p.add_argument("--change-seed", type=int, default=2)
    p.set_defaults(run=generate)
    p = commands.add_parser("zip")
    p.add_argument("dir")
    p.add_argument("out")
    p.add_argument("--store", action="store_true")
    p.set_defaults(run=zip_dir)
    p = commands.add_parser("oracle")
    p.add_argument("path")
    p.add_argument("--source", required=True)
    p.add_argument("--ecosystems", nargs="*", default=[])
    p.set_defaults(run=oracle)
    p = commands.add_parser("craft")
    p.add_argument("kind")
    p.add_argument("out")
    p.set_defaults(run=craft)
    p = commands.add_parser("cvss")
    p.add_argument("file")
    p.set_defaults(run=cvss_scores)
    p = commands.add_parser("loads")
    p.add_argument("zip")
    p.set_defaults(run=loads)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
