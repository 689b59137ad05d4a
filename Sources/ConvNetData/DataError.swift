/// A data file that cannot be used, with a message naming the file and the fault.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
