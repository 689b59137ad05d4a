/// How a model's layers connect, as Keras's functional API does it: each layer reads the outputs of
/// earlier layers (`inputs` in the config, by `name`; `"input"` is the model input), and the last
/// layer's output is the model's. Config order is a topological order: a layer reads only layers
/// above it, so there is no cycle, and running the layers in order runs every input first.
///
/// A model whose layers each read the one before is a chain (`isChain`): it runs exactly the
/// sequential model's passes.
public struct ModelGraph: Equatable, Sendable {
    /// The name that `inputs` gives the model input.
    public static let inputName = "input"
    /// Index of the model input in `inputs`.
    public static let modelInput = -1

    /// Each layer's name: as given, else Keras's default (`conv2d_1`, numbered per stem among the unnamed layers).
    public let names: [String]
    /// Each layer's inputs, by layer index (`modelInput` for the model input), in the order given.
    public let inputs: [[Int]]
    /// Each layer's readers, by layer index, ascending.
    public let consumers: [[Int]]
    public let isChain: Bool

    /// Per layer: whether the gradient of its output is of use, that is whether it or a layer it
    /// reads from (directly or not) has parameters (`trainable[i]`). Backward skips the other layers
    /// and never computes their input gradients: the augmentation and scaling in front of a model's
    /// first convolution cost time and change nothing.
    public func outputGradientNeeded(trainable: [Bool]) -> [Bool] {
        var needed: [Bool] = []
        for (i, sources) in inputs.enumerated() {
            needed.append(trainable[i] || sources.contains { $0 != ModelGraph.modelInput && needed[$0] })
        }
        return needed
    }

    /// Resolves `spec`'s names and inputs; errors name the layer and the key (`model.layers[3].inputs`).
    public init(_ spec: ModelSpec) throws {
        let layers = spec.layers
        func key(_ i: Int, _ name: String) -> String { "model.layers[\(i)].\(name)" }
        var counters: [String: Int] = [:]
        var names: [String] = []
        var index: [String: Int] = [:]
        for (i, layer) in layers.enumerated() {
            let name: String
            if let given = spec.name(i) {
                name = given
            } else {
                counters[layer.kerasNameStem, default: 0] += 1
                name = "\(layer.kerasNameStem)_\(counters[layer.kerasNameStem]!)"
            }
            if name == ModelGraph.inputName {
                throw ModelError("\(key(i, "name")): \"\(name)\" is the model input's name; choose another")
            }
            if let other = index[name] {
                throw ModelError("\(key(i, "name")): \"\(name)\" is already the name of model.layers[\(other)]; names must differ")
            }
            index[name] = i
            names.append(name)
        }
        var inputs: [[Int]] = []
        for i in layers.indices {
            guard let given = spec.inputNames(i) else {
                inputs.append([i - 1])
                continue
            }
            guard !given.isEmpty else { throw ModelError("\(key(i, "inputs")) is empty: name at least one earlier layer or \"input\"") }
            var resolved: [Int] = []
            for name in given {
                guard let j = name == ModelGraph.inputName ? ModelGraph.modelInput : index[name] else {
                    let above = [ModelGraph.inputName] + names[..<i]
                    let shown = above.count <= 10 ? above : [ModelGraph.inputName, "..."] + above.suffix(8)
                    throw ModelError("\(key(i, "inputs")): no layer is named \"\(name)\" (the layers above it: \(shown.joined(separator: ", ")))")
                }
                guard !resolved.contains(j) else { throw ModelError("\(key(i, "inputs")) names \"\(name)\" twice") }
                resolved.append(j)
            }
            inputs.append(resolved)
        }
        try ModelGraph.requireNoCycle(inputs, names: names)
        for (i, sources) in inputs.enumerated() {
            if let j = sources.first(where: { $0 >= i }) {
                throw ModelError("\(key(i, "inputs")): \"\(names[j])\" is model.layers[\(j)], below this layer; a layer reads only layers above it (move it below \"\(names[j])\")")
            }
            let merging = layers[i] is any MergingLayer
            if merging && sources.count < 2 {
                throw ModelError("\(key(i, "inputs")): \(layers[i].typeName) merges two or more layers, got \(sources.count)")
            }
            if !merging && sources.count > 1 {
                throw ModelError("\(key(i, "inputs")): \(layers[i].typeName) takes one input, got \(sources.count) (merge them first with add or concatenate)")
            }
        }
        var consumers = [[Int]](repeating: [], count: layers.count)
        for (i, sources) in inputs.enumerated() {
            for j in sources where j >= 0 { consumers[j].append(i) }
        }
        if let unread = consumers.dropLast().firstIndex(where: \.isEmpty) {
            throw ModelError("model.layers[\(unread)] (\"\(names[unread])\"): nothing reads its output, and a model has one output, "
                             + "the last layer (name it in a later layer's inputs, or remove it)")
        }
        self.names = names
        self.inputs = inputs
        self.consumers = consumers
        isChain = inputs.enumerated().allSatisfy { $1 == [$0 - 1] }
    }

    /// Throws naming a cycle (`a -> b -> a`) if following inputs from some layer comes back to it.
    private static func requireNoCycle(_ inputs: [[Int]], names: [String]) throws {
        var state = [UInt8](repeating: 0, count: inputs.count)   // 0 unseen, 1 on the path, 2 done
        var path: [Int] = []
        func visit(_ i: Int) throws {
            if state[i] == 2 { return }
            if state[i] == 1 {
                let cycle = path[path.lastIndex(of: i)!...].map { names[$0] } + [names[i]]
                throw ModelError("model.layers[\(i)].inputs: a cycle: \(cycle.reversed().joined(separator: " -> ")) (each feeds the next); a layer reads only layers above it")
            }
            state[i] = 1
            path.append(i)
            for j in inputs[i] where j >= 0 { try visit(j) }
            path.removeLast()
            state[i] = 2
        }
        for i in inputs.indices { try visit(i) }
    }
}
