import ConvNetCore
var g = SeededGenerator(seed: 3)
for (h, c, f) in [(28, 1, 32), (13, 32, 64)] {
    let layer = Conv2D(inputShape: TensorShape([h, h, c]), filters: f, kernelSize: (3, 3), activation: .linear)
    // A constant image: every output position sees the same patch.
    let value = g.nextUnitFloat()
    let x = [Float](repeating: value, count: h * h * c)
    let p = (0..<layer.parameterCount).map { _ in g.nextUnitFloat() - 0.5 }
    var y = [Float](repeating: 0, count: layer.outputShape.count)
    var saved = [Float](repeating: 0, count: layer.savedCount(batch: 1)), idx: [Int32] = [0]
    var scratch = [Float](repeating: 0, count: layer.scratchCount(batch: 1))
    saved.withUnsafeMutableBufferPointer { s in scratch.withUnsafeMutableBufferPointer { t in idx.withUnsafeMutableBufferPointer { i in
        layer.forward(x, &y, batch: 1, parameters: p, memory: LayerMemory(saved: s.baseAddress!, indices: i.baseAddress!, scratch: t.baseAddress!))
    } } }
    let positions = layer.outputShape.count / f
    var distinct = 0
    for o in 0..<f { let vals = Set((0..<positions).map { y[$0 * f + o].bitPattern }); distinct = max(distinct, vals.count) }
    print("conv \(h)x\(h)x\(c)->\(f) on a constant image: max distinct values per filter = \(distinct) (1 = exact ties kept)")
}
