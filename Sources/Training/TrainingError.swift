import Foundation

/// A run that cannot go on, with a one-line message for the user.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An error in plain words: this project's errors as they are; Foundation's file errors as the file
/// and the operating system's reason ("R/curves.svg: No space left on device") instead of
/// "The operation could not be completed. (NSCocoaErrorDomain error 512.)".
public func plainDescription(_ error: Error) -> String {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
    let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var reason: String?
    if ns.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(ns.code)))
    } else if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(underlying.code)))
    }
    let text = reason ?? ns.localizedFailureReason ?? "the file operation failed"
    return path.map { "\($0): \(text)" } ?? text
}
