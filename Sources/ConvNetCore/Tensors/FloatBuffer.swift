/// A fixed-size, zero-initialised, 64-byte aligned block of Floats that the kernels address by pointer.
///
/// Swift arrays would re-check bounds and uniqueness in the hot loop; this class is the one place the
/// numeric core allocates long-lived memory, and it never reallocates, so pointers into it stay valid.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "buffer sizes differ: \(other.count) vs \(count)")
        pointer.update(from: other.pointer, count: count)
    }
}

/// Same as `FloatBuffer`, for the int32 indices some layers keep between forward and backward.
public final class Int32Buffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Int32>

    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}
