// libFuzzer harness for the experiment config parser (Sources/ConvNetConfig/ConfigParser.swift on
// TOMLKit / toml++), and the model it describes (Sources/ConvNetCore: layer descriptions,
// shape inference, Sequential's layouts).
//
// The input is taken as UTF-8 text (invalid bytes become U+FFFD; `load(path:)` refuses such a file
// before parsing, so this covers more than a file can reach). A thrown ConfigError is the expected
// answer to a bad config; a trap, an overflow, an out-of-bounds access, a hang or a huge allocation
// is a bug. tools/fuzz compiles toml++'s own assertions out (FUZZ_TOML_ASSERTS=1 keeps them, as the
// shipped build does). For a config that parses:
//  - Sequential(config.model) must build (parse already validated it), and give its summary,
//  - config.tomlText must parse back to an equal config (ConfigWriter.swift promises it).
//
// Built and run by tools/fuzz (swiftc -sanitize=fuzzer,address); seeds in Fuzz/corpus/config,
// TOML words in Fuzz/config/toml.dict.
import ConvNetConfig
import ConvNetCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let config = try? ExperimentConfig.parse(toml: text) else { return 0 }
    let model = try! Sequential(config.model)
    precondition(model.parameterCount <= Sequential.maximumParameters)
    _ = model.summary()                // `convnet-dist summary`
    _ = model.forwardMultiplyAdds      // `convnet-dist bench`
    let written = config.tomlText
    let reread: ExperimentConfig
    do { reread = try ExperimentConfig.parse(toml: written) } catch {
        fatalError("tomlText of a valid config does not parse: \(error)\n--- written:\n\(written)")
    }
    precondition(reread == config, "tomlText did not read back to an equal config\n--- written:\n\(written)")
    return 0
}
