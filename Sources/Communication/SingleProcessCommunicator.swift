#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A job of one process: every collective is the identity, so the trainer has one code path.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func startSum(_ buffer: UnsafeMutableRawPointer, count: Int, of type: SumType) {}
    public func progressSums() {}
    public func waitForSums() {}
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {}
    public func broadcast(_ buffer: UnsafeMutablePointer<Double>, count: Int, root: Int) {}
    public func exchange(send: UnsafeRawPointer, sendCounts: [Int], receive: UnsafeMutableRawPointer, receiveCounts: [Int]) {
        receive.copyMemory(from: send, byteCount: sendCounts[0])
    }
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
    public func finish() {}
}
