// The f32 tensor the kernels compute on: a shape and a contiguous, row-major run of Float.
//
// Images are NCHW ([batch, channels, height, width]); token sequences are [batch, tokens, features].
// The element buffer is a Swift Array, so a Tensor is a value: copies share storage until one of
// them is written (copy on write). Kernels that work in place take `inout Tensor` and write through
// `withUnsafeMutableBufferPointer`, which does not copy while the tensor is uniquely referenced.

// MARK: - Tensor

/// A dense Float32 tensor: `shape` and its elements in row-major order (last index fastest).
///
/// Invariant: `data.count` equals the product of `shape` (1 for a scalar, `shape == []`). The
/// initialisers check it; code that assigns `shape` or `data` directly must keep it, and every
/// kernel checks it again on entry.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// Dimensions, outermost first (`[N, C, H, W]` for images).
    public var shape: [Int]
    /// Elements in row-major order.
    public var data: [Float]

    /// A tensor of `shape` holding `data` (row-major). Precondition: `data.count` is the product of `shape`.
    public init(shape: [Int], data: [Float]) {
        precondition(Tensor.count(of: shape) == data.count,
                     "shape \(describeShape(shape)) needs \(Tensor.count(of: shape)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` with every element equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.shape = shape
        self.data = [Float](repeating: value, count: Tensor.count(of: shape))
    }

    /// A tensor of `shape` whose elements `initializer` writes. Every element must be written:
    /// the buffer starts uninitialised (this is how kernels avoid a zero-fill pass).
    public init(shape: [Int], uninitialized initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let n = Tensor.count(of: shape)
        self.shape = shape
        self.data = try [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            try initializer(buf)
            initialized = n
        }
    }

    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    /// A scalar (rank 0) tensor.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// An f32 tensor from a file tensor (any dtype that converts to Float; converted on the way).
    public init(_ raw: RawTensor) {
        self.init(shape: raw.shape, data: raw.floats())
    }

    // MARK: Shape

    /// Number of elements.
    @inlinable public var count: Int { data.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// Row-major strides in elements: `strides[i]` is the product of `shape[(i+1)...]`.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// Element count of `shape` (1 for `[]`). Precondition: no negative dimension, no overflow.
    public static func count(of shape: [Int]) -> Int {
        guard let n = elementCount(shape) else { preconditionFailure("invalid shape \(describeShape(shape))") }
        return n
    }

    /// The same elements viewed with another shape. One dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var t = self
        t.reshape(newShape)
        return t
    }

    /// Changes the shape in place, keeping the elements. One dimension may be -1 (inferred).
    public mutating func reshape(_ newShape: [Int]) {
        shape = Tensor.resolve(newShape, count: data.count)
    }

    static func resolve(_ newShape: [Int], count: Int) -> [Int] {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            precondition(s.filter { $0 == -1 }.count == 1, "reshape: at most one -1 in \(describeShape(newShape))")
            var known = 1
            for (j, d) in s.enumerated() where j != i { known *= d }
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(describeShape(newShape)) for \(count) elements")
            s[i] = count / known
        }
        precondition(Tensor.count(of: s) == count, "reshape: \(describeShape(newShape)) does not hold \(count) elements")
        return s
    }

    // MARK: Elements

    /// Flat row-major offset of a full index. Precondition: one index per dimension, each in range.
    @inlinable public func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(describeShape(shape))")
        var off = 0
        for (i, d) in shape.enumerated() {
            precondition(index[i] >= 0 && index[i] < d, "index \(index) out of range for shape \(describeShape(shape))")
            off = off * d + index[i]
        }
        return off
    }

    /// The element at a full index, e.g. `t[n, c, y, x]`.
    @inlinable public subscript(_ index: Int...) -> Float {
        get { data[offset(index)] }
        set { data[offset(index)] = newValue }
    }

    /// Item `i` of the outermost dimension (e.g. image `i` of a batch), copied: shape `shape.dropFirst()`.
    public func item(_ i: Int) -> Tensor {
        precondition(rank >= 1 && i >= 0 && i < shape[0], "item \(i) of shape \(describeShape(shape))")
        let inner = Array(shape.dropFirst())
        let n = Tensor.count(of: inner)
        return Tensor(shape: inner, data: Array(data[(i * n)..<((i + 1) * n)]))
    }

    /// Stacks equally shaped tensors along a new outermost dimension: `[k] + shape`.
    public static func stack(_ items: [Tensor]) -> Tensor {
        precondition(!items.isEmpty, "stack of no tensors")
        let s = items[0].shape
        var all: [Float] = []
        all.reserveCapacity(items.count * items[0].count)
        for t in items {
            precondition(t.shape == s, "stack: shapes \(describeShape(s)) and \(describeShape(t.shape)) differ")
            all.append(contentsOf: t.data)
        }
        return Tensor(shape: [items.count] + s, data: all)
    }

    // MARK: Layout (copies)

    /// The tensor with its dimensions reordered: result dim i is `self` dim `order[i]` (PyTorch
    /// `permute(order).contiguous()`). E.g. `[N, D, T]` → `permuted([0, 2, 1])` → `[N, T, D]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "permuted: \(order) is not a permutation of 0..<\(rank)")
        let newShape = order.map { shape[$0] }
        let srcStrides = strides
        let st = order.map { srcStrides[$0] }  // source stride of each result dim
        if order == Array(0..<rank) || count == 0 { return Tensor(shape: newShape, data: data) }
        return Tensor(shape: newShape) { out in
            data.withUnsafeBufferPointer { src in
                // Walk the result in row-major order with an odometer over its dims.
                var idx = [Int](repeating: 0, count: rank)
                var off = 0
                let last = rank - 1
                let n = newShape[last], step = st[last]
                var o = 0
                while o < out.count {
                    for k in 0..<n { out[o + k] = src[off + k * step] }
                    o += n
                    var d = last - 1
                    while d >= 0 {
                        idx[d] += 1
                        off += st[d]
                        if idx[d] < newShape[d] { break }
                        off -= st[d] * idx[d]
                        idx[d] = 0
                        d -= 1
                    }
                }
            }
        }
    }

    /// Elements `start ..< start + length` of dimension `axis` (PyTorch `narrow`), copied.
    public func narrowed(axis: Int, start: Int, length: Int) -> Tensor {
        precondition(axis >= 0 && axis < rank && start >= 0 && length >= 0 && start + length <= shape[axis],
                     "narrowed: \(start)..<\(start + length) of axis \(axis) in \(describeShape(shape))")
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        newShape[axis] = length
        var out: [Float] = []
        out.reserveCapacity(outer * length * inner)
        for o in 0..<outer {
            let base = (o * shape[axis] + start) * inner
            out.append(contentsOf: data[base..<(base + length * inner)])
        }
        return Tensor(shape: newShape, data: out)
    }

    /// Joins tensors along `axis` (PyTorch `torch.cat`); all other dimensions must agree.
    public static func concat(_ items: [Tensor], axis: Int) -> Tensor {
        precondition(!items.isEmpty, "concat of no tensors")
        let r = items[0].rank
        precondition(axis >= 0 && axis < r, "concat: axis \(axis) for rank \(r)")
        for t in items {
            precondition(t.rank == r && (0..<r).allSatisfy { $0 == axis || t.shape[$0] == items[0].shape[$0] },
                         "concat: \(describeShape(t.shape)) does not match \(describeShape(items[0].shape)) outside axis \(axis)")
        }
        let outer = items[0].shape[..<axis].reduce(1, *)
        var newShape = items[0].shape
        newShape[axis] = items.reduce(0) { $0 + $1.shape[axis] }
        var out: [Float] = []
        out.reserveCapacity(Tensor.count(of: newShape))
        for o in 0..<outer {
            for t in items {
                let block = t.count / Swift.max(outer, 1)
                out.append(contentsOf: t.data[(o * block)..<((o + 1) * block)])
            }
        }
        return Tensor(shape: newShape, data: out)
    }

    /// Largest `|self − other|` over all elements (NaN if either side has a NaN). Shapes must match.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(describeShape(shape)) and \(describeShape(other.shape))")
        var m: Float = 0
        for i in 0..<data.count {
            let d = abs(data[i] - other.data[i])
            if d.isNaN { return .nan }
            m = Swift.max(m, d)
        }
        return m
    }

    public var description: String {
        let head = data.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(describeShape(shape))[\(head)\(data.count > 8 ? ", …" : "")]"
    }
}

// MARK: - Buffer base pointers

/// One Float that stands in for the base of an empty buffer, so kernels never unwrap a nil pointer.
nonisolated(unsafe) private let emptyFloat = UnsafeMutablePointer<Float>.allocate(capacity: 1)

extension UnsafeBufferPointer where Element == Float {
    /// `baseAddress`, or a valid dummy pointer when the buffer is empty.
    @inline(__always) var base: UnsafePointer<Float> { baseAddress ?? UnsafePointer(emptyFloat) }
}

extension UnsafeMutableBufferPointer where Element == Float {
    /// `baseAddress`, or a valid dummy pointer when the buffer is empty.
    @inline(__always) var base: UnsafeMutablePointer<Float> { baseAddress ?? emptyFloat }
}
