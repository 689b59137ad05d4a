/// A run that cannot go on, with a one-line message for the user.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
