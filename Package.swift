// swift-tools-version:6.0
// vfw: take image models out of PyTorch and prove they still compute the same thing.
import PackageDescription

let package = Package(
    name: "vfw",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vfw", targets: ["vfw"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - Public modules (one job each)

        /// Tensors, dtypes and their conversions, the byte storage tensors live in (mmap), the kernels (CKernels, OpenBLAS).
        .target(name: "TensorCore", dependencies: ["CKernels", "COpenBLAS", "CZlib"]),
        /// The native .vfw weight format: reader (zero-copy mmap views) and atomic streaming writer.
        .target(name: "VFWFormat", dependencies: ["TensorCore"]),
        /// Hugging Face safetensors: reader, writer, sharded index.
        .target(name: "Safetensors", dependencies: ["TensorCore"]),
        /// torch.save files without Python: zip container, legacy stream, a pickle machine that executes nothing.
        .target(name: "TorchArchive", dependencies: ["TensorCore", "CZlib"]),
        /// Reference activations recorded from PyTorch (tools/make_reference.py), tap comparison, the verify report.
        .target(name: "Verify", dependencies: ["TensorCore", "Safetensors"]),
        /// The model families (torchvision ResNet, ViT): canonical layouts, strict loading, forward passes with taps.
        .target(name: "Models", dependencies: ["TensorCore", "VFWFormat"]),
        /// PNG and JPEG decoding, Pillow's resampling and the torchvision / HF preprocessing presets, bit-exact.
        .target(name: "Imaging", dependencies: ["TensorCore", "CPNG", "CJPEG", "CImageShims"]),

        // MARK: - Implementation details (C libraries from Debian's -dev packages)

        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        /// vfw's compute kernels (packed GEMM, im2col) with generic, AVX2+FMA and AVX-512 paths chosen at run time.
        .target(name: "CKernels"),
        /// setjmp/longjmp-based libpng and libjpeg decoding kept in C, so no longjmp crosses a Swift frame.
        .target(name: "CImageShims", dependencies: ["CPNG", "CJPEG"]),

        // MARK: - Executables

        .executableTarget(name: "vfw", dependencies: [
            "TensorCore", "VFWFormat", "Safetensors", "TorchArchive", "Models", "Verify", "Imaging",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: - Tests

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "Safetensors"]),
        .testTarget(name: "VFWFormatTests", dependencies: ["VFWFormat", "TensorCore"]),
        .testTarget(name: "SafetensorsTests", dependencies: ["Safetensors", "TensorCore"]),
        .testTarget(name: "TorchArchiveTests", dependencies: ["TorchArchive", "TensorCore"]),
        .testTarget(name: "VerifyTests", dependencies: ["Verify", "TensorCore", "Safetensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TensorCore", "VFWFormat", "Safetensors"]),
        .testTarget(name: "CLITests", dependencies: ["vfw"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TensorCore", "Safetensors"]),
    ],
    swiftLanguageModes: [.v5]
)
