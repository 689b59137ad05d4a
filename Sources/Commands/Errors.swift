import ArgumentParser
import Communication
import Foundation
import Training

/// Runs a command body; any error becomes one line on standard error and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("convnet-dist: error: \(readable(error))\n".utf8))
        throw ExitCode.failure
    }
}

/// Runs a command body on one rank of a job. An error prints one line and ends the whole job
/// (every rank) with status 1, so no peer is left waiting in a collective.
func runOnEveryRank(_ communicator: any Communicator, _ body: () throws -> Void) {
    do {
        try body()
    } catch {
        let rank = communicator.size > 1 ? " (rank \(communicator.rank))" : ""
        FileHandle.standardError.write(Data("convnet-dist: error\(rank): \(readable(error))\n".utf8))
        communicator.abort(code: 1)
    }
    communicator.finish()
}

/// An error as one line a person reads: in plain words (`plainDescription`), line breaks shown as
/// `\n`, and at most `maximumErrorLength` characters (an error quoting a huge input is cut, saying so).
func readable(_ error: Error) -> String {
    let text = plainDescription(error).replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    guard text.count > maximumErrorLength else { return text }
    return text.prefix(maximumErrorLength) + "... (\(text.count - maximumErrorLength) more characters)"
}

let maximumErrorLength = 1000
