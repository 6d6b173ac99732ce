// embed-photo WEIGHTS IMAGE [LAYER]: the feature vector of a photo (or of module LAYER), as JSON on stdout.
//
// The README's "Use from Swift" example, built by CI (make example), which checks that its vector equals
// `vfw embed`'s for the same weights and photo.

import Foundation
import VFW

let args = CommandLine.arguments
guard args.count == 3 || args.count == 4 else {
    FileHandle.standardError.write(Data("usage: embed-photo WEIGHTS IMAGE [LAYER]\n".utf8))
    exit(2)
}
do {
    let model = try VisionModel(weights: args[1])               // .vfw, .pth, .safetensors or a HF folder
    let image = try VisionModel.decode(file: args[2])            // PNG or JPEG, decoded as Pillow does
    let vector = args.count == 4 ? try model.output(of: image, layer: args[3])
                                 : try model.features(of: image)  // ResNet: pooled; ViT: CLS token
    print("\(model.description.name) \(model.model.featureName): \(vector.count) values")
    let json = try JSONEncoder().encode(vector)
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
