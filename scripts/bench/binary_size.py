#!/usr/bin/env python3
"""What an (unstripped) Outpost binary is made of.

  scripts/bench/binary_size.py .build/release/outpost [--top 15]

Prints `size` (text/data/bss), the ELF sections that take room in the file, and the code and data
symbols (nm -S) summed per origin: each Swift module (from the mangled name), the Swift runtime
and standard library, BoringSSL, SQLite, libsodium, glibc/C++ glue, other.
"""
import argparse, collections, re, subprocess

SWIFT_MODULE = re.compile(r"^_?\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)")
STDLIB_SHORT = re.compile(r"^_?\$s(S|s[A-Za-z]|Sc|Sy)")   # $sS..., $ss...: known stdlib types


def origin(name):
    if name.startswith(("CNIOBoringSSL", "_CNIOBoringSSL", "_ZN4bssl", "_ZNK4bssl", "_ZTVN4bssl")) or "BORINGSSL" in name:
        return "BoringSSL (swift-nio-ssl)"
    if name.startswith("sqlite3") or name.startswith(("fts5", "fts3")):
        return "SQLite"
    if name.startswith(("crypto_", "sodium_", "randombytes", "_sodium", "escrypt", "blake2b")):
        return "libsodium"
    if name.startswith(("swift_", "_swift", "swift::", "_ZN5swift", "_ZNK5swift", "__swift")):
        return "Swift runtime (C++)"
    m = SWIFT_MODULE.match(name)
    if m:
        n = int(m.group(1))
        mod = m.group(2)[:n]
        if mod in ("Swift", "_Concurrency", "_StringProcessing", "_RegexParser", "Synchronization", "Glibc"):
            return f"Swift stdlib ({mod})"
        return f"Swift module {mod}"
    if STDLIB_SHORT.match(name):
        return "Swift stdlib (Swift)"
    if name.startswith(("$s", "_$s")):
        return "Swift (other mangled)"
    if name.startswith("_Z"):
        return "C++ (other)"
    return "C (other)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    print(subprocess.run(["size", a.binary], capture_output=True, text=True).stdout.rstrip())
    secs = []
    for line in subprocess.run(["readelf", "-SW", a.binary], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+([0-9a-f]+)", line)
        if m and m.group(2) != "NOBITS":
            secs.append((int(m.group(3), 16), m.group(1)))
    print("largest sections (bytes in the file):")
    for size, name in sorted(secs, reverse=True)[:10]:
        print(f"  {name:28} {size / 1048576:7.2f} MiB")
    sums = collections.Counter()
    out = subprocess.run(["nm", "-S", "--size-sort", "--defined-only", a.binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) != 4 or parts[2].lower() not in "tdrb":
            continue
        sums[origin(parts[3])] += int(parts[1], 16)
    total = sum(sums.values())
    print(f"symbols with a size, by origin ({total / 1048576:.2f} MiB in all):")
    for name, size in sums.most_common(a.top):
        print(f"  {name:40} {size / 1048576:7.2f} MiB")


if __name__ == "__main__":
    main()
