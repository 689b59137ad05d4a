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
    return path.map { "\($0): \(plainReason(error))" } ?? plainReason(error)
}

/// The operating system's reason alone ("No space left on device"), for a message that names the
/// path itself; this project's errors as they are.
public func plainReason(_ error: Error) -> String {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return ns.localizedFailureReason ?? "the file operation failed"
}
