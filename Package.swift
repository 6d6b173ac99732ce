// swift-tools-version:6.0
// vfw: take image models out of PyTorch and prove they still compute the same thing.
import PackageDescription

let package = Package(
    name: "vfw",
    platforms: [.macOS(.v14)],
    products: [
        /// The command-line tool.
        .executable(name: "vfw", targets: ["VFWCLI"]),
        /// vfw as a Swift library: open a checkpoint, build the model, preprocess an image, embed, verify
        /// (README "Use from Swift").
        .library(name: "VFW", targets: ["VFW"]),
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
        /// The model families (one file each, one registry line each): canonical layouts, strict loading, forward
        /// passes with taps, isolated modules, synthetic weights.
        .target(name: "Models", dependencies: ["TensorCore"]),
        /// Reference activations recorded from PyTorch (tools/make_reference.py), tap comparison, the verify report.
        .target(name: "Verify", dependencies: ["TensorCore", "Safetensors", "Models"]),
        /// PNG and JPEG decoding, Pillow's resampling and the torchvision / HF preprocessing presets, bit-exact.
        .target(name: "Imaging", dependencies: ["TensorCore", "CPNG", "CJPEG", "CImageShims"]),
        /// Text to token ids: the CLIP BPE tokenizer, exactly as open_clip and transformers compute it.
        .target(name: "Tokenizers", dependencies: ["CZlib"]),

        // MARK: - Implementation details (C libraries from Debian's -dev packages)

        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        /// vfw's compute kernels (packed GEMM, im2col) with generic, AVX2+FMA and AVX-512 paths chosen at run time.
        .target(name: "CKernels"),
        /// setjmp/longjmp-based libpng and libjpeg decoding kept in C, so no longjmp crosses a Swift frame.
        .target(name: "CImageShims", dependencies: ["CPNG", "CJPEG"]),

        // MARK: - The library: the pipeline, wiring the modules together

        /// Open any weight source, recognise and canonicalise it, synthesise, build, preprocess and embed, run a
        /// verification against a reference folder; the search index.
        .target(name: "VFW", dependencies: ["TensorCore", "VFWFormat", "Safetensors", "TorchArchive", "Models", "Verify", "Imaging", "Tokenizers"]),

        // MARK: - Executables

        /// `vfw`: parses arguments, calls the library, prints.
        .executableTarget(name: "VFWCLI", dependencies: [
            "VFW", "TensorCore", "VFWFormat", "Models", "Verify", "Imaging",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        /// FaultLab: `vfw verify` with one fault planted through the `@_spi(Faults)` hooks (parity job, noise-floor
        /// measurements). A test tool, not a product.
        .executableTarget(name: "FaultLab", dependencies: ["VFW", "Models", "Verify", "TensorCore"], path: "Tests/FaultLab"),

        // MARK: - Tests

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "Safetensors"]),
        .testTarget(name: "VFWFormatTests", dependencies: ["VFWFormat", "TensorCore"]),
        .testTarget(name: "SafetensorsTests", dependencies: ["Safetensors", "TensorCore"]),
        .testTarget(name: "TorchArchiveTests", dependencies: ["TorchArchive", "TensorCore"]),
        .testTarget(name: "VerifyTests", dependencies: ["Verify", "TensorCore", "Safetensors", "Models"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TensorCore", "Safetensors"]),
        .testTarget(name: "VFWTests", dependencies: ["VFW", "Models", "Verify", "TensorCore", "Safetensors", "Imaging"]),
        .testTarget(name: "CLITests", dependencies: ["VFWCLI"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TensorCore", "Safetensors"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
    ],
    swiftLanguageModes: [.v5]
)
