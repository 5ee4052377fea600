/// Helpers shared by the fuzz targets: a property that does not hold is a crash (libFuzzer
/// saves the input), and chunk boundaries derived from the input so a streaming parser is fed
/// the same bytes in different pieces.

/// Stops the run when `condition` is false (libFuzzer catches the trap and keeps the input).
@inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        fatalError("property violated: \(message())", file: file, line: line)
    }
}

/// FNV-1a over the input: a cheap, deterministic seed for choices a target makes per input.
public func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h &*= 0x0000_0100_0000_01b3
    }
    return h
}

/// Up to `count` sorted cut offsets in `0...length`, chosen from `seed` (xorshift). Some inputs
/// get one-byte chunks at the start, where header states are most fragile.
public func chunkCuts(length: Int, seed: UInt64, count: Int = 6) -> [Int] {
    guard length > 1 else { return [] }
    var s = seed | 1
    func next() -> UInt64 {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return s
    }
    var cuts: [Int] = []
    if seed & 0x3 == 0 {
        cuts.append(contentsOf: 1..<min(length, 12))
    }
    for _ in 0..<count {
        cuts.append(Int(next() % UInt64(length + 1)))
    }
    return Array(Set(cuts)).sorted()
}

/// Slices `bytes` at `cuts` (plus the end); empty chunks are kept (a zero-length feed must be harmless).
public func chunks(_ bytes: UnsafeRawBufferPointer, at cuts: [Int]) -> [UnsafeRawBufferPointer] {
    var out: [UnsafeRawBufferPointer] = []
    var start = 0
    for c in cuts + [bytes.count] where c >= start {
        out.append(UnsafeRawBufferPointer(rebasing: bytes[start..<c]))
        start = c
    }
    return out
}

/// The input as a buffer (libFuzzer may pass a null pointer with size 0).
public func inputBuffer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    guard let data, size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: size)
}
