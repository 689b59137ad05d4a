import ConvNetConfig
import ConvNetCore
import XCTest

/// `GradientBufferPlan` shares memory only between gradients that are never live at once. Liveness
/// is worked out here independently, from the steps of the backward pass that touch each gradient:
/// the loss writes the last layer's output gradient, every reader of a layer writes or adds to its
/// output gradient, the layer's own backward reads it, and an addend is written and added at its
/// reader's step.
final class GradientBufferPlanTests: XCTestCase {
    /// A gradient the backward pass holds, with the steps that touch it (the loss is step `L`).
    private struct Use { var name: String; var slot: Int; var floats: Int; var steps: [Int] }

    private func uses(_ plan: GradientBufferPlan, _ graph: ModelGraph) -> [Use] {
        let count = graph.inputs.count
        var result = (0..<count).map { j in
            Use(name: "output gradient of \(graph.names[j])", slot: plan.outputGradientSlots[j], floats: plan.outputGradients[j].floats,
                steps: [j] + graph.consumers[j] + (j == count - 1 ? [count] : []))
        }
        for (i, sources) in graph.inputs.enumerated() {
            for (k, j) in sources.enumerated() where j != ModelGraph.modelInput && graph.consumers[j].last != i {
                guard let slot = plan.addendSlots[i][k] else { XCTFail("\(graph.names[i]) input \(k) has no addend"); continue }
                result.append(Use(name: "addend \(k) of \(graph.names[i])", slot: slot, floats: plan.addends[i][k]!.floats, steps: [i]))
            }
        }
        return result
    }

    /// Pairs of gradients in one slot whose live steps meet.
    private func clashes(_ uses: [Use]) -> [String] {
        var found: [String] = []
        for a in uses.indices {
            for b in uses.indices where b > a && uses[a].slot == uses[b].slot {
                let x = uses[a].steps, y = uses[b].steps
                if x.min()! <= y.max()! && y.min()! <= x.max()! { found.append("\(uses[a].name) and \(uses[b].name)") }
            }
        }
        return found
    }

    private func check(_ model: Sequential, file: StaticString = #filePath, line: UInt = #line) -> GradientBufferPlan {
        let plan = GradientBufferPlan(graph: model.graph, outputFloats: model.layers.map(\.outputShape.count))
        let all = uses(plan, model.graph)
        XCTAssertEqual(clashes(all), [], "live gradients share a slot", file: file, line: line)
        for use in all {
            XCTAssertGreaterThanOrEqual(plan.slotFloats[use.slot], use.floats, "\(use.name) does not fit its slot", file: file, line: line)
        }
        return plan
    }

    /// Fan-out (`stem` read by three layers, `conv2d_1` and `activation_2` by two), two adds and a concatenation.
    func testNoTwoLiveGradientsShareASlot() throws {
        let layers: [any Layer] = [
            Conv2D(filters: 4, kernelSize: (3, 3), padding: .same, activation: .relu),
            Conv2D(filters: 4, kernelSize: (3, 3), padding: .same, useBias: false), BatchNorm(), ActivationLayer(.relu),
            Conv2D(filters: 4, kernelSize: (3, 3), padding: .same), Add(), ActivationLayer(.relu),
            Conv2D(filters: 4, kernelSize: (3, 3), padding: .same), Add(), Concatenate(),
            Conv2D(filters: 2, kernelSize: (1, 1)), AvgPool2D(window: PoolWindow(size: (2, 2))), Flatten(),
            Dense(units: 3, activation: .softmax),
        ]
        var inputs = [[String]?](repeating: nil, count: layers.count)
        inputs[5] = ["conv2d_2", "stem"]
        inputs[8] = ["conv2d_3", "activation_2"]
        inputs[9] = ["add_2", "stem", "conv2d_1"]
        let model = try Sequential(ModelSpec(inputShape: TensorShape([8, 8, 2]), classes: 3, layers: layers,
                                             names: ["stem"] + [String?](repeating: nil, count: layers.count - 1), inputs: inputs))
        XCTAssertEqual(model.graph.consumers[0], [1, 5, 9])
        let plan = check(model)
        let addends = plan.addendSlots.joined().compactMap { $0 }
        XCTAssertEqual(addends.count, 4, "stem twice, conv2d_1 and activation_2 once")
        XCTAssertLessThan(plan.slotFloats.count, layers.count + addends.count, "nothing shared")
        XCTAssertLessThan(plan.floatsPerSample, model.layers.reduce(0) { $0 + $1.outputShape.count })
    }

    /// A deep stack of residual blocks needs a few slots however many blocks it has.
    func testSlotsDoNotGrowWithDepth() throws {
        func model(blocks: Int) throws -> Sequential {
            var layers: [any Layer] = [Conv2D(filters: 3, kernelSize: (3, 3), padding: .same, activation: .relu)]
            var names: [String?] = ["b0"], inputs: [[String]?] = [nil]
            for b in 1...blocks {
                layers += [Conv2D(filters: 3, kernelSize: (3, 3), padding: .same), BatchNorm(), ActivationLayer(.relu),
                           Conv2D(filters: 3, kernelSize: (3, 3), padding: .same), Add(), ActivationLayer(.relu)]
                names += [nil, nil, nil, "c\(b)", "a\(b)", "b\(b)"]
                inputs += [nil, nil, nil, nil, ["c\(b)", "b\(b - 1)"], nil]
            }
            layers += [GlobalAvgPool2D(), Dense(units: 2, activation: .softmax)]
            names += [nil, nil]
            inputs += [nil, nil]
            return try Sequential(ModelSpec(inputShape: TensorShape([6, 6, 3]), classes: 2, layers: layers, names: names, inputs: inputs))
        }
        let shallow = check(try model(blocks: 2)), deep = check(try model(blocks: 12))
        XCTAssertEqual(deep.slotFloats.count, shallow.slotFloats.count)
        XCTAssertEqual(deep.floatsPerSample, shallow.floatsPerSample)
        XCTAssertLessThanOrEqual(deep.floatsPerSample, 4 * 6 * 6 * 3)
    }

    /// The check above can fail: one slot for everything clashes wherever two gradients are live at once.
    func testTheCheckFindsAliasedLiveGradients() throws {
        let model = try Sequential(ModelSpec(inputShape: TensorShape([4, 4, 1]), classes: 2, layers: [
            Conv2D(filters: 2, kernelSize: (3, 3), padding: .same), ActivationLayer(.relu), Add(), Flatten(),
            Dense(units: 2, activation: .softmax),
        ], names: ["stem", nil, nil, nil, nil], inputs: [nil, nil, ["activation_1", "stem"], nil, nil]))
        let plan = GradientBufferPlan(graph: model.graph, outputFloats: model.layers.map(\.outputShape.count))
        XCTAssertEqual(clashes(uses(plan, model.graph)), [])
        let aliased = uses(plan, model.graph).map { use in Use(name: use.name, slot: 0, floats: use.floats, steps: use.steps) }
        let found = clashes(aliased)
        XCTAssertTrue(found.contains("output gradient of stem and output gradient of activation_1"), "\(found)")
        XCTAssertTrue(found.contains("output gradient of activation_1 and output gradient of add_1"), "\(found)")
    }
}
