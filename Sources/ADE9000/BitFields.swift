extension FixedWidthInteger where Self: UnsignedInteger {
    /// The bits `range` (half-open, LSB = 0) of the value, shifted down to bit 0 — swift-mmio's bit-range idea.
    ///
    /// The setter traps when `newValue` does not fit into the range: that is a programmer error (a field
    /// constant too wide), never a consequence of I/O data.
    @inlinable
    public subscript(bits range: Range<Int>) -> Self {
        get {
            let width = range.count
            let mask: Self = width >= Self.bitWidth ? ~0 : (Self(1) << width) &- 1
            return (self >> range.lowerBound) & mask
        }
        set {
            let width = range.count
            let mask: Self = width >= Self.bitWidth ? ~0 : (Self(1) << width) &- 1
            precondition(newValue & ~mask == 0, "field value \(newValue) does not fit in bits \(range)")
            self = (self & ~(mask << range.lowerBound)) | (newValue << range.lowerBound)
        }
    }
}
