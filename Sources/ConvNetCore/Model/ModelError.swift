/// A model description that cannot be built, with a message that says which layer and why.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
