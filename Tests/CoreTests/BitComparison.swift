import ConvNetCore
import XCTest

extension XCTestCase {
    /// Equal arrays, or one failure naming the first element that differs (not two whole arrays).
    func assertSameBits<T: FixedWidthInteger>(_ actual: [T], _ expected: [T], _ what: String,
                                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        if let i = actual.indices.first(where: { $0 < expected.count && actual[$0] != expected[$0] }) {
            XCTFail("\(what): element \(i) differs (\(actual[i]) against \(expected[i]))", file: file, line: line)
        }
    }
}

/// The im2col route's input gradient, the bits every convolution route must give:
/// `dx = col2im(dY * K^T)` for an HWIO `kernel` of `geometry.patchLength x filters`; also returns `K^T`.
func im2colInputGradient(dy: [Float], kernel: [Float], batch: Int, geometry g: WindowGeometry,
                         filters f: Int) -> (dx: [Float], kernelTransposed: [Float]) {
    let rows = batch * g.positions, patch = g.patchLength
    var kernelTransposed = [Float](repeating: 0, count: patch * f)
    Matmul.transpose(kernel, rows: patch, columns: f, into: &kernelTransposed)
    var colGradient = [Float](repeating: 0, count: rows * patch)
    Matmul.rowwise(m: rows, n: patch, k: f, dy, lda: f, kernelTransposed, ldb: patch, &colGradient, ldc: patch)
    var dx = [Float](repeating: 0, count: batch * g.inputCount)
    Im2Col.col2im(colGradient, batch: batch, geometry: g, &dx)
    return (dx, kernelTransposed)
}
