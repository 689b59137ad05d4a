import Commands
import Foundation

// `convnet-dist` with the faults of `CONVNET_TEST_FAULT` installed (see `FaultInjection`): a test
// tool, never installed for users. A spec it cannot read ends it before anything else runs.
let faults: FaultInjection
do {
    faults = try FaultInjection.fromEnvironment()
} catch {
    FileHandle.standardError.write(Data("convnet-dist: error: \(error)\n".utf8))
    exit(1)
}
CommandLineTool.main(trainingHooks: faults)
