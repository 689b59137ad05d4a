import ArgumentParser
import Foundation

/// Runs a command body; any error becomes one line on standard error and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("convnet-dist: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
