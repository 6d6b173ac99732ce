// swift-tools-version:6.0
// A program that uses vfw as a library: depends on the vfw checkout by path, embeds one photo.
import PackageDescription

let package = Package(
    name: "embed-photo",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "vfw", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "embed-photo", dependencies: [.product(name: "VFW", package: "vfw")]),
    ]
)
