/// Why a checkpoint cannot be exported: one line, naming the layer or the file.
public struct ExportError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
