/// A parse error with a 1-based position. `column` counts UTF-8 bytes from the start of the line.
///
/// Messages describe the problem but never echo scalar contents, so they are safe to log even
/// when the document holds secrets.
public struct YAMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        "YAML error at line \(line), column \(column): \(message)"
    }
}
