#!/usr/bin/python3
"""RPM repositories for sumsync's tests and benchmark, made with createrepo_c's own tools.

Runs under Debian's /usr/bin/python3 (python3-createrepo-c, python3-rpm are built for it).

  rpm-repo.py generate OUT.xml --count N [--packages K] [--seed S] [--change FRACTION --change-seed S]
      An updateinfo.xml of N advisories written by createrepo_c's UpdateInfoXmlFile, K packages each.
      With --change, that fraction of advisories differs (a newer updated date, one more package).
  rpm-repo.py repo DIR UPDATEINFO.xml [--compress gz|xz|bz2|zst|none]
      A repository at DIR made by createrepo_c, with the updateinfo added by modifyrepo_c. zst is written
      as newer createrepo_c does (Debian's 0.17 cannot): compressed by the zstd tool and its repomd entry
      (checksum, open-checksum, size, open-size, location) rewritten to match.
  rpm-repo.py fix-repomd DIR
      Restates the updateinfo entry's checksum and sizes in DIR's repomd.xml for the file as it now is, as
      a broken mirror would publish a damaged file.
  rpm-repo.py oracle UPDATEINFO.xml
      What createrepo_c's parser reads, one JSON object per advisory (id, type, severity, issued,
      updated, cves, packages, reboot_suggested), in document order: the tests' oracle.
  rpm-repo.py parse UPDATEINFO.xml
      Parses the file with createrepo_c.UpdateInfo and prints the seconds it took (the benchmark's baseline).
  rpm-repo.py vercmp PAIRS.tsv
      For each line "a<TAB>b" (each [epoch:]version-release), prints rpm.labelCompare's -1/0/1.
"""

import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import createrepo_c as cr

NAMES = [
    "kernel", "openssl", "glibc", "bash", "curl", "nss", "python3", "systemd", "sudo", "vim",
    "httpd", "nginx", "postgresql", "mariadb", "firefox", "thunderbird", "git", "zlib", "libxml2",
    "expat", "openssh", "bind", "samba", "krb5", "polkit", "grub2", "shim", "podman", "runc", "golang",
]
ARCHES = ["x86_64", "noarch", "i686", "aarch64"]
TYPES = ["security", "bugfix", "enhancement", "newpackage"]
SEVERITIES = ["Critical", "Important", "Moderate", "Low", None]


def advisory(index, packages, rng, changed):
    """One advisory, deterministic for (index, seed); `changed` makes its newer revision."""
    kind = TYPES[index % len(TYPES)]
    prefix = {"security": "RLSA", "bugfix": "RLBA", "enhancement": "RLEA", "newpackage": "RLEA"}[kind]
    record = cr.UpdateRecord()
    record.id = "%s-%d:%05d" % (prefix, 2020 + index // 20000, index % 20000)
    record.type = kind
    record.status = "final"
    record.version = "2"
    record.fromstr = "releng@rockylinux.org"
    base = NAMES[index % len(NAMES)]
    severity = SEVERITIES[index % len(SEVERITIES)] if kind == "security" else None
    record.title = "%s%s %s update" % (severity + ": " if severity else "", base, kind)
    if severity:
        record.severity = severity
    record.release = "Rocky Linux 9"
    record.rights = "Copyright (C) 2024 Rocky Enterprise Software Foundation"
    record.summary = "An update for %s is now available for Rocky Linux 9." % base
    record.description = (
        "The %s packages provide %s. This update fixes the issues described in the references and "
        "brings the packages to the versions listed. Users of %s are advised to upgrade to these "
        "updated packages. Issue %d, change set %d." % (base, base, base, index, rng.randrange(1 << 30))
    )
    record.solution = "Before applying this update, make sure all previously released errata are applied."
    issued = datetime.datetime(2020, 1, 1) + datetime.timedelta(minutes=17 * index)
    record.issued_date = issued
    record.updated_date = issued + datetime.timedelta(days=40 if changed else 3)
    record.pushcount = "1"
    if index % 7 == 0:
        record.reboot_suggested = True
    self_ref = cr.UpdateReference()
    self_ref.href = "https://errata.rockylinux.org/%s" % record.id
    self_ref.id = record.id
    self_ref.type = "self"
    self_ref.title = record.id
    record.append_reference(self_ref)
    for number in range(1 + index % 3):
        ref = cr.UpdateReference()
        cve = "CVE-%d-%05d" % (2020 + index % 6, (index * 3 + number) % 100000)
        ref.href = "https://access.redhat.com/security/cve/%s" % cve
        ref.id = cve
        ref.type = "cve"
        ref.title = cve
        record.append_reference(ref)
    collection = cr.UpdateCollection()
    collection.shortname = "rocky-linux-9-baseos-rpms"
    collection.name = "Rocky Linux 9 BaseOS"
    # The version rises with the index, so a later advisory of the same package supersedes an earlier one.
    major = 1 + index // 5000
    count = packages + (1 if changed else 0)
    for number in range(count):
        package = cr.UpdateCollectionPackage()
        package.name = base if number == 0 else "%s-sub%d" % (base, (index + number) % 12)
        package.version = "%d.%d.%d" % (major, (index // 30) % 100, number)
        package.release = "%d.el9_%d" % (1 + index % 9, index % 5)
        package.epoch = str(index % 3 if base == "kernel" else 0)
        package.arch = ARCHES[(index + number) % len(ARCHES)]
        package.src = "%s-%s-%s.src.rpm" % (base, package.version, package.release)
        package.filename = "%s-%s-%s.%s.rpm" % (package.name, package.version, package.release, package.arch)
        package.sum = hashlib.sha256(package.filename.encode()).hexdigest()
        package.sum_type = cr.SHA256
        collection.append(package)
    record.append_collection(collection)
    return record


def generate(args):
    out = args[0]
    options = dict(zip(args[1::2], args[2::2]))
    count = int(options.get("--count", "100"))
    packages = int(options.get("--packages", "8"))
    seed = int(options.get("--seed", "1"))
    fraction = float(options.get("--change", "0"))
    chooser = random.Random(int(options.get("--change-seed", "7")))
    changed = set(chooser.sample(range(count), int(count * fraction))) if fraction else set()
    if os.path.exists(out):
        os.unlink(out)  # createrepo_c refuses to overwrite
    xml = cr.UpdateInfoXmlFile(out, cr.NO_COMPRESSION)
    for index in range(count):
        rng = random.Random(seed * 1_000_003 + index)
        xml.add_chunk(cr.xml_dump_updaterecord(advisory(index, packages, rng, index in changed)))
    xml.close()


def run(*command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def repo(args):
    directory, updateinfo = args[0], args[1]
    options = dict(zip(args[2::2], args[3::2]))
    compress = options.get("--compress", "gz")
    os.makedirs(directory, exist_ok=True)
    run("createrepo_c", "--quiet", "--no-database", directory)
    if updateinfo == "-":
        return
    repodata = os.path.join(directory, "repodata")
    if compress == "zst":
        add_zstd(repodata, updateinfo)
        return
    staged = os.path.join(os.path.dirname(os.path.abspath(directory)), "updateinfo.xml")
    if os.path.abspath(updateinfo) != staged:
        shutil.copyfile(updateinfo, staged)
    if compress == "none":
        run("modifyrepo_c", "--mdtype", "updateinfo", "--no-compress", staged, repodata)
    else:
        kind = {"gz": "gz", "xz": "xz", "bz2": "bz2"}[compress]
        run("modifyrepo_c", "--mdtype", "updateinfo", "--compress-type", kind, staged, repodata)


def add_zstd(repodata, updateinfo):
    namespace = "http://linux.duke.edu/metadata/repo"
    ET.register_namespace("", namespace)
    ET.register_namespace("rpm", "http://linux.duke.edu/metadata/rpm")
    compressed = os.path.join(repodata, "updateinfo.xml.zst")
    run("zstd", "-q", "-f", "-3", updateinfo, "-o", compressed)
    checksum = sha256_of(compressed)
    final = os.path.join(repodata, "%s-updateinfo.xml.zst" % checksum)
    os.rename(compressed, final)
    repomd = os.path.join(repodata, "repomd.xml")
    tree = ET.parse(repomd)
    root = tree.getroot()
    data = ET.SubElement(root, "{%s}data" % namespace, {"type": "updateinfo"})
    ET.SubElement(data, "{%s}checksum" % namespace, {"type": "sha256"}).text = checksum
    ET.SubElement(data, "{%s}open-checksum" % namespace, {"type": "sha256"}).text = sha256_of(updateinfo)
    ET.SubElement(data, "{%s}location" % namespace, {"href": "repodata/" + os.path.basename(final)})
    ET.SubElement(data, "{%s}timestamp" % namespace).text = str(int(time.time()))
    ET.SubElement(data, "{%s}size" % namespace).text = str(os.path.getsize(final))
    ET.SubElement(data, "{%s}open-size" % namespace).text = str(os.path.getsize(updateinfo))
    tree.write(repomd, xml_declaration=True, encoding="UTF-8")


def fix_repomd(args):
    namespace = "http://linux.duke.edu/metadata/repo"
    ET.register_namespace("", namespace)
    ET.register_namespace("rpm", "http://linux.duke.edu/metadata/rpm")
    directory = args[0]
    repomd = os.path.join(directory, "repodata", "repomd.xml")
    tree = ET.parse(repomd)
    for data in tree.getroot().findall("{%s}data" % namespace):
        if data.get("type") != "updateinfo":
            continue
        path = os.path.join(directory, data.find("{%s}location" % namespace).get("href"))
        data.find("{%s}checksum" % namespace).text = sha256_of(path)
        data.find("{%s}checksum" % namespace).set("type", "sha256")
        data.find("{%s}size" % namespace).text = str(os.path.getsize(path))
    tree.write(repomd, xml_declaration=True, encoding="UTF-8")


def evr(package):
    epoch = package.epoch if package.epoch not in (None, "", "0") else None
    text = "%s-%s" % (package.version, package.release)
    return "%s-%s%s.%s" % (package.name, epoch + ":" if epoch else "", text, package.arch)


def stamp(value):
    if isinstance(value, int):  # Unix seconds, as createrepo_c gives them back
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def oracle(args):
    info = cr.UpdateInfo(args[0])
    for update in info.updates:
        packages = sorted({evr(p) for c in update.collections for p in c.packages})
        reboot = bool(update.reboot_suggested) or any(
            p.reboot_suggested for c in update.collections for p in c.packages)
        print(json.dumps({
            "id": update.id,
            "type": update.type,
            "severity": update.severity,
            "issued": stamp(update.issued_date),
            "updated": stamp(update.updated_date),
            "cves": [r.id for r in update.references if r.type == "cve"],
            "packages": packages,
            "reboot_suggested": reboot,
        }, sort_keys=True))


def parse(args):
    start = time.monotonic()
    info = cr.UpdateInfo(args[0])
    elapsed = time.monotonic() - start
    print("%.3f %d" % (elapsed, len(info.updates)))


def vercmp(args):
    import rpm

    def split(label):
        epoch, _, rest = label.rpartition(":")
        version, _, release = rest.rpartition("-")
        return (epoch or None, version, release)

    with open(args[0]) as handle:
        for line in handle:
            left, right = line.rstrip("\n").split("\t")
            print(rpm.labelCompare(split(left), split(right)))


if __name__ == "__main__":
    commands = {"generate": generate, "repo": repo, "oracle": oracle, "parse": parse, "vercmp": vercmp,
                "fix-repomd": fix_repomd}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])
