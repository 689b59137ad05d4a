import Foundation

/// A piece of the user's input as an error message shows it, in double quotes: at most `limit`
/// characters (a header or a field can be megabytes), control characters escaped (a newline would
/// break the one-line error), and "..." where it was cut. `marks: false` leaves out the quotes (for
/// names in a list).
func quoted<S: StringProtocol>(_ text: S, limit: Int = 40, marks: Bool = true) -> String {
    let mark = marks ? "\"" : ""
    var shown = ""
    for (count, scalar) in text.unicodeScalars.enumerated() {
        guard count < limit else { return mark + shown + "..." + mark }
        shown += scalar.properties.generalCategory == .control || (marks && (scalar == "\"" || scalar == "\\"))
            ? scalar.escaped(asASCII: true) : String(scalar)
    }
    return mark + shown + mark
}

/// The bytes of a name that is not UTF-8, shown as `quoted` shows text, with `\xHH` for the bytes
/// that are not.
func quoted(bytes: [UInt8], limit: Int = 40) -> String {
    var shown = "", count = 0
    for byte in bytes.prefix(limit) {
        count += 1
        shown += byte >= 0x20 && byte < 0x7f && byte != 0x22 && byte != 0x5c ? String(UnicodeScalar(byte))
                                                                               : "\\x" + String(byte, radix: 16, uppercase: true)
    }
    return "\"" + shown + (bytes.count > limit ? "...\"" : "\"")
}

/// What the operating system said about a failed file operation ("Not a directory"), not
/// Foundation's "The operation could not be completed. (NSCocoaErrorDomain error 512.)".
func systemReason(_ error: Error) -> String {
    let ns = error as NSError
    let posix = ns.domain == NSPOSIXErrorDomain ? ns : (ns.userInfo[NSUnderlyingErrorKey] as? Error).map { $0 as NSError }
    if let posix, posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
    return ns.localizedFailureReason ?? "the file operation failed"
}
