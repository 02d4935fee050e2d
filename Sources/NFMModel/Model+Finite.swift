import NFMFormat

extension Model {
    /// The first stored value that is NaN or infinite, by tensor name and index (checkpoint order); nil
    /// when every parameter is finite. O(parameters).
    public func firstNonFiniteParameter() -> (name: String, index: Int, value: Float)? {
        for (name, buffer) in namedTensors {
            let values = UnsafeBufferPointer(start: buffer.pointer, count: buffer.count)
            if let index = values.firstIndex(where: { !$0.isFinite }) { return (name, index, values[index]) }
        }
        return nil
    }

    /// Throws `.diverged` naming `file` and the first parameter that is NaN or infinite.
    public func checkFinite(file: String) throws {
        if let bad = firstNonFiniteParameter() {
            throw NFMError(
                .diverged, "the model holds a non-finite parameter: \(bad.name)[\(bad.index)] = \(bad.value) (its training diverged)",
                at: .init(file: file))
        }
    }
}
