/// A fixed-size, zero-initialised, 64-byte aligned block of numbers that the kernels address by pointer.
///
/// Swift arrays would re-check bounds and uniqueness in the hot loop; this class is the one place the
/// numeric core allocates long-lived memory, and it never reallocates, so pointers into it stay valid.
public final class Buffer<Element: Numeric>: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>

    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        let capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Element.self, capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    public convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var array: [Element] { Array(buffer) }

    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public func fill(_ value: Element) { pointer.update(repeating: value, count: count) }

    public func copy(from other: Buffer<Element>) {
        precondition(other.count == count, "buffer sizes differ: \(other.count) vs \(count)")
        pointer.update(from: other.pointer, count: count)
    }
}

/// Parameters, activations and mean gradients.
public typealias FloatBuffer = Buffer<Float>
/// Gradient sums (see `Layer.backward`).
public typealias DoubleBuffer = Buffer<Double>
/// Integer labels of a batch.
public typealias Int32Buffer = Buffer<Int32>
