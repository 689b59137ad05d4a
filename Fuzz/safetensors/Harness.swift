// libFuzzer harness for the safetensors reader (Sources/SafeTensors/SafeTensors.swift).
//
// The whole input is handed to `SafeTensors.decode` as the bytes of a file: an 8-byte
// little-endian header length, a JSON header, then raw tensor data. A thrown
// SafeTensorsError is the expected answer to a bad file; a trap, an overflow, an
// out-of-bounds access, a hang or a huge allocation is a bug.
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/safetensors.
import Foundation
import SafeTensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    if let file = try? SafeTensors.decode(bytes) {
        // A decoded file must be self-consistent: every name listed once, every tensor's
        // shape matching its values (SafeTensor's initialiser checks the latter).
        precondition(Set(file.names) == Set(file.tensors.keys), "names and tensors disagree")
        // Re-encoding what was read must give back the same tensors.
        let again = try! SafeTensors.decode(SafeTensors.encode(file.names.map { ($0, file.tensors[$0]!) },
                                                                  metadata: file.metadata))
        // (compared bit for bit: a NaN is not equal to itself as a Float)
        func bits(_ f: SafeTensors.File) -> [String: [Int]] {
            f.tensors.mapValues { $0.shape + $0.values.map { Int($0.bitPattern) } }
        }
        precondition(bits(again) == bits(file) && again.metadata == file.metadata, "round trip changed the file")
    }
    return 0
}
