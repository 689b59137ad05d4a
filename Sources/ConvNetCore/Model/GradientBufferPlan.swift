/// Which memory holds each gradient of a graph model's backward pass, fixed once from the graph so
/// that a workspace needs a few buffers instead of one per layer, as a framework that frees each
/// gradient after use does.
///
/// Backward runs layer `L-1` down to `0`. The gradient with respect to layer `j`'s output is written
/// at layer `consumers[j].last`'s step (the loss writes the last layer's) and read at `j`'s own step,
/// so it is live over the layer steps `j...consumers[j].last`. A gradient an earlier reader adds to
/// that sum (an addend) is live at its reader's step only. Live sets are closed intervals: a layer's
/// own output gradient and the input gradients it writes are live at the same step, so they never
/// share memory (no layer runs in place). Gradients whose intervals meet get different slots; the
/// others may share one (greedy interval colouring in backward order, best fit by size). The
/// arithmetic and its order do not change, only addresses, so the bits do not either.
public struct GradientBufferPlan: Sendable, Equatable {
    /// One gradient the backward pass holds: `floats` per sample, live at the layer steps `live`.
    public struct Item: Sendable, Equatable {
        public var floats: Int
        public var live: ClosedRange<Int>
    }

    /// The output gradient of each layer, by layer index.
    public let outputGradients: [Item]
    /// Per layer, per input: the addend that layer's backward writes for that input when the input
    /// has a later reader (which holds its sum), else nil.
    public let addends: [[Item?]]
    /// Floats per sample of each shared slot.
    public let slotFloats: [Int]
    /// The slot of each output gradient and of each addend (nil where `addends` is nil).
    public let outputGradientSlots: [Int]
    public let addendSlots: [[Int?]]

    /// The plan for `graph` whose layer `j` outputs `outputFloats[j]` floats per sample. Where
    /// `sharedWithNext[j]`, layer `j`'s output gradient is that of layer `j + 1` (its only reader, whose
    /// passes layer `j` runs, see `ReLUFusion`), which is then live from step `j` on.
    public init(graph: ModelGraph, outputFloats: [Int], sharedWithNext: [Bool] = []) {
        func shared(_ j: Int) -> Bool { j < sharedWithNext.count && sharedWithNext[j] }
        var outputs = outputFloats.indices.map { j in Item(floats: outputFloats[j], live: j...(graph.consumers[j].last ?? j)) }
        for j in outputs.indices where shared(j) { outputs[j + 1].live = j...outputs[j + 1].live.upperBound }
        let addends = graph.inputs.enumerated().map { i, sources in
            sources.map { j -> Item? in
                j == ModelGraph.modelInput || graph.consumers[j].last == i ? nil : Item(floats: outputFloats[j], live: i...i)
            }
        }
        // In the order backward first writes them: latest step first; at one step, output gradients
        // before addends, each by index.
        var order: [(item: Item, key: (Int, Int))] = outputs.enumerated().filter { !shared($0.offset) }.map { ($1, (-1, $0)) }
        for (i, row) in addends.enumerated() {
            for (k, item) in row.enumerated() { if let item { order.append((item, (i, k))) } }
        }
        order.sort { a, b in
            if a.item.live.upperBound != b.item.live.upperBound { return a.item.live.upperBound > b.item.live.upperBound }
            return a.key < b.key
        }
        var slotFloats: [Int] = [], freeBelow: [Int] = []   // a slot is free at steps below its last item's
        var outputSlots = [Int](repeating: 0, count: outputs.count)
        var addendSlots = addends.map { $0.map { _ -> Int? in nil } }
        for (item, key) in order {
            let start = item.live.upperBound
            let free = slotFloats.indices.filter { freeBelow[$0] > start }
            let fitting = free.filter { slotFloats[$0] >= item.floats }
            let slot: Int
            if let best = fitting.min(by: { (slotFloats[$0], $0) < (slotFloats[$1], $1) }) {
                slot = best
            } else if let largest = free.max(by: { (slotFloats[$0], -$0) < (slotFloats[$1], -$1) }) {
                slot = largest
                slotFloats[slot] = item.floats
            } else {
                slot = slotFloats.count
                slotFloats.append(item.floats)
                freeBelow.append(0)
            }
            freeBelow[slot] = item.live.lowerBound
            if key.0 < 0 { outputSlots[key.1] = slot } else { addendSlots[key.0][key.1] = slot }
        }
        for j in outputs.indices.reversed() where shared(j) { outputSlots[j] = outputSlots[j + 1] }
        outputGradients = outputs
        self.addends = addends
        self.slotFloats = slotFloats
        outputGradientSlots = outputSlots
        self.addendSlots = addendSlots
    }

    /// Floats per sample of all slots.
    public var floatsPerSample: Int { slotFloats.reduce(0, +) }
}
